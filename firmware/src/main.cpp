// ZIAS door reader: wires the hardware to the portable core (lib/core) and
// otherwise stays out of the way. All decisions live in zias::Reader.

#include <Arduino.h>
#include <ESP8266WiFi.h>
#include <MQTTClient.h>
#include <time.h>

#include "config.h"  // copy config.example.h to config.h and fill it in
#include "esp_ports.h"
#include "led_buzzer.h"
#include "littlefs_storage.h"
#include "monotonic_ms.h"
#include "pins.h"
#include "pir_inputs.h"
#include "reader.h"
#include "rfid_scanner.h"

namespace {

constexpr const char* kFirmwareVersion = "1.0.0";
constexpr std::size_t kQueueSlots = 1000;  // about 190 KB of the 2 MB filesystem
// The MQTT client keeps one buffer this size for each direction; the ESP8266
// has about 40 KB of free heap, so replay batches are kept well under it.
constexpr int kMqttBufferBytes = 4096;
constexpr std::size_t kReplayMaxBytes = 3500;
constexpr int kMqttTimeoutMs = 3000;
constexpr int kKeepAliveS = 30;

WiFiClient network;
MQTTClient mqtt(kMqttBufferBytes);
MqttPublisher publisher(mqtt);
LittleFsStorage storage(kQueueSlots);
SntpClock wallClock;
LedBuzzer indicator;
HardwareRng rng;
WifiLink link;
RfidScanner scanner(pins::kRfidSelect, pins::kRfidReset);
PirInput outerPir(pins::kPirOuter);
PirInput innerPir(pins::kPirInner);

zias::ReaderOptions readerOptions() {
  zias::ReaderOptions options;
  options.deviceId = ZIAS_DEVICE_ID;
  options.topicPrefix = ZIAS_TOPIC_PREFIX;
  options.firmwareVersion = kFirmwareVersion;
  options.queueCapacity = kQueueSlots;
  options.replayMaxBytes = kReplayMaxBytes;
  return options;
}

zias::Reader reader(readerOptions(), zias::ReaderPorts{publisher, storage, wallClock, indicator, rng, link});

void onMqttMessage(MQTTClient*, char topic[], char bytes[], int length) {
  reader.onMessage(topic, std::string(bytes, static_cast<std::size_t>(length)), monotonicMs());
  if (reader.topics().config == topic && !reader.lastConfigError().empty()) {
    Serial.printf("config rejected: %s\n", reader.lastConfigError().c_str());
  }
}

void startWifi() {
  WiFi.mode(WIFI_STA);
  WiFi.persistent(false);  // credentials come from config.h, not flash
  WiFi.setAutoReconnect(true);
  WiFi.begin(ZIAS_WIFI_SSID, ZIAS_WIFI_PASSWORD);
}

void startMqtt() {
  mqtt.begin(ZIAS_MQTT_HOST, ZIAS_MQTT_PORT, network);
  mqtt.setOptions(kKeepAliveS, /*cleanSession=*/false, kMqttTimeoutMs);
  // Kept alive for the program's lifetime in case the library keeps pointers.
  static const std::string willTopic = reader.willTopic();
  static const std::string willPayload = reader.willPayload();
  mqtt.setWill(willTopic.c_str(), willPayload.c_str(), true, zias::Reader::kQos);
  mqtt.onMessageAdvanced(onMqttMessage);
}

// One attempt, only when the core's backoff says so; the attempt itself blocks
// for at most kMqttTimeoutMs.
void maintainMqtt(uint64_t now) {
  if (mqtt.connected()) return;
  if (reader.connected()) {
    Serial.println("mqtt: connection lost");
    reader.onDisconnected(now);
  }
  if (WiFi.status() != WL_CONNECTED || !reader.reconnectDue(now)) return;
  const bool ok = mqtt.connect(ZIAS_DEVICE_ID, ZIAS_DEVICE_ID, ZIAS_MQTT_PASSWORD) &&
                  mqtt.subscribe(reader.topics().ack.c_str(), zias::Reader::kQos) &&
                  mqtt.subscribe(reader.topics().config.c_str(), zias::Reader::kQos);
  now = monotonicMs();
  if (ok) {
    Serial.printf("mqtt: connected, %u events queued, %u dropped so far\n",
                  static_cast<unsigned>(reader.queued()), static_cast<unsigned>(reader.dropped()));
    reader.onConnected(now);
  } else {
    mqtt.disconnect();
    reader.onDisconnected(now);
    Serial.printf("mqtt: connect failed (error %d, code %d), next try in %u ms\n",
                  static_cast<int>(mqtt.lastError()), static_cast<int>(mqtt.returnCode()),
                  static_cast<unsigned>(reader.nextReconnectMs() - now));
  }
}

void pollSensors(uint64_t now) {
  bool motion = false;
  if (outerPir.changed(now, &motion)) reader.onPir(zias::PirSensor::Outer, motion, now);
  if (innerPir.changed(now, &motion)) reader.onPir(zias::PirSensor::Inner, motion, now);
  const std::string uid = scanner.poll();
  if (!uid.empty()) {
    Serial.printf("card %s\n", uid.c_str());
    reader.onCard(uid, now);
  }
}

}  // namespace

void setup() {
  // TX only: the RX pin drives the buzzer.
  Serial.begin(115200, SERIAL_8N1, SERIAL_TX_ONLY);
  indicator.begin();
  outerPir.begin();
  innerPir.begin();
  scanner.begin();
  if (!zias::isValidDeviceId(ZIAS_DEVICE_ID)) Serial.println("config.h: ZIAS_DEVICE_ID is not a valid device id");
  if (!storage.begin()) Serial.println("storage: LittleFS unavailable, offline buffer will not survive a reboot");
  if (!reader.begin(monotonicMs())) Serial.println("storage: could not save the boot counter");
  Serial.printf("ZIAS reader %s, device %s, boot %u\n", kFirmwareVersion, ZIAS_DEVICE_ID,
                static_cast<unsigned>(reader.bootCount()));
  configTime(0, 0, ZIAS_NTP_SERVER_1, ZIAS_NTP_SERVER_2);  // UTC; the server shows local time
  startWifi();
  startMqtt();
}

void loop() {
  mqtt.loop();
  const uint64_t now = monotonicMs();
  maintainMqtt(now);
  pollSensors(now);
  reader.tick(now);
  indicator.update(now);
  delay(5);  // lets the Wi-Fi stack run and saves a little power
}
