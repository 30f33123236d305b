// Stand-in for 256dpi/MQTT's MQTTClient.h (2.5): declarations only (see README.md).
#pragma once

#include <Arduino.h>
#include <ESP8266WiFi.h>

enum lwmqtt_err_t { LWMQTT_SUCCESS = 0 };
enum lwmqtt_return_code_t { LWMQTT_CONNECTION_ACCEPTED = 0 };

class MQTTClient;
typedef void (*MQTTClientCallbackAdvanced)(MQTTClient* client, char topic[], char bytes[], int length);

class MQTTClient {
 public:
  explicit MQTTClient(int bufSize = 128);
  void begin(const char hostname[], int port, Client& client);
  void onMessageAdvanced(MQTTClientCallbackAdvanced cb);
  void setWill(const char topic[], const char payload[], bool retained, int qos);
  void setOptions(int keepAlive, bool cleanSession, int timeout);
  bool connect(const char clientId[], const char username[], const char password[]);
  bool publish(const char topic[], const char payload[], int length, bool retained, int qos);
  bool subscribe(const char topic[], int qos);
  bool loop();
  bool connected();
  bool disconnect();
  lwmqtt_err_t lastError();
  lwmqtt_return_code_t returnCode();
};
