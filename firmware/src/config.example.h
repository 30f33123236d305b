// Copy to config.h (which git ignores) and fill in for each reader.
#pragma once

// Wi-Fi the reader joins.
#define ZIAS_WIFI_SSID "school-iot"
#define ZIAS_WIFI_PASSWORD "change-me"

// MQTT broker (Mosquitto). The device id is also the MQTT username and client
// id; it must match the reader registered in the ZIAS admin and look like
// [a-z0-9][a-z0-9-]{1,63}.
#define ZIAS_MQTT_HOST "10.20.0.2"
#define ZIAS_MQTT_PORT 1883
#define ZIAS_DEVICE_ID "door-b204"
// From POST /api/v1/devices/<id>/credentials (shown only once).
#define ZIAS_MQTT_PASSWORD "paste-the-device-password"
#define ZIAS_TOPIC_PREFIX "zias"

// Time servers; the school's own NTP server is best if there is one.
#define ZIAS_NTP_SERVER_1 "pool.ntp.org"
#define ZIAS_NTP_SERVER_2 "time.google.com"
