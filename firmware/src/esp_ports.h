// The small adapters that connect the core's interfaces to the ESP8266 and the
// MQTT client library.
#pragma once

#include <ESP8266WiFi.h>
#include <MQTTClient.h>
#include <sys/time.h>

#include "interfaces.h"

class MqttPublisher : public zias::Publisher {
 public:
  explicit MqttPublisher(MQTTClient& client) : client_(client) {}
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retained) override {
    // With QoS 1 this returns once the broker has acknowledged (PUBACK), which
    // is what lets the core delete buffered events on success.
    return client_.connected() &&
           client_.publish(topic.c_str(), payload.c_str(), static_cast<int>(payload.size()), retained, qos);
  }

 private:
  MQTTClient& client_;
};

class SntpClock : public zias::Clock {
 public:
  int64_t epochMs() override {
    timeval tv{};
    gettimeofday(&tv, nullptr);
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  }
};

class HardwareRng : public zias::Rng {
 public:
  uint32_t next() override { return RANDOM_REG32; }  // the ESP8266's hardware RNG
};

class WifiLink : public zias::Link {
 public:
  std::string ipAddress() override { return WiFi.localIP().toString().c_str(); }
  int rssiDbm() override { return WiFi.RSSI(); }
};
