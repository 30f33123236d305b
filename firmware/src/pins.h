// Every pin the reader uses, in one place. NodeMCU labels (D1...) are given
// with the ESP8266 GPIO numbers because datasheets and the core use GPIOs.
#pragma once

#include <Arduino.h>

namespace pins {

// RC522 on the hardware SPI bus: SCK D5 (GPIO14), MISO D6 (GPIO12),
// MOSI D7 (GPIO13) are fixed by the SPI peripheral and not set here.
constexpr uint8_t kRfidSelect = D8;  // GPIO15, RC522 "SDA"/SS
constexpr uint8_t kRfidReset = D3;   // GPIO0, RC522 RST

// HC-SR501 style motion sensors, 3.3 V logic output, high on motion.
constexpr uint8_t kPirOuter = D1;  // GPIO5, the sensor facing the corridor
constexpr uint8_t kPirInner = D2;  // GPIO4, the sensor facing the classroom

constexpr uint8_t kLedGreen = D0;  // GPIO16, LED to GND through 330 ohm
// GPIO2 must be high while the ESP8266 boots, so this LED is wired from
// 3.3 V to the pin (lit when the pin is low), like the on-board LED.
constexpr uint8_t kLedRed = D4;
constexpr bool kLedRedActiveLow = true;

// Active buzzer through an NPN transistor. GPIO3 is the UART's RX pin; the
// firmware only transmits on Serial, so RX is free as an output.
constexpr uint8_t kBuzzer = 3;

}  // namespace pins
