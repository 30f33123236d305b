// Stand-in for the ESP8266 Arduino core's ESP8266WiFi.h: declarations only (see README.md).
#pragma once

#include <Arduino.h>

enum WiFiMode_t { WIFI_OFF = 0, WIFI_STA = 1, WIFI_AP = 2, WIFI_AP_STA = 3 };
enum wl_status_t { WL_IDLE_STATUS = 0, WL_NO_SSID_AVAIL = 1, WL_CONNECTED = 3, WL_DISCONNECTED = 7 };

class IPAddress {
 public:
  String toString() const;
};

class ESP8266WiFiClass {
 public:
  bool mode(WiFiMode_t mode);
  void persistent(bool persistent);
  bool setAutoReconnect(bool autoReconnect);
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr);
  wl_status_t status();
  IPAddress localIP();
  int32_t RSSI();
};
extern ESP8266WiFiClass WiFi;

class Client {
 public:
  virtual ~Client() = default;
  virtual int connect(const char* host, uint16_t port) = 0;
  virtual int available() = 0;
  virtual uint8_t connected() = 0;
  virtual void stop() = 0;
};

class WiFiClient : public Client {
 public:
  WiFiClient();
  int connect(const char* host, uint16_t port) override;
  int available() override;
  uint8_t connected() override;
  void stop() override;
};
