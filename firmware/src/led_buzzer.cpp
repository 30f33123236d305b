#include "led_buzzer.h"

#include <Arduino.h>

#include "monotonic_ms.h"
#include "pins.h"

void LedBuzzer::begin() {
  pinMode(pins::kLedGreen, OUTPUT);
  pinMode(pins::kLedRed, OUTPUT);
  pinMode(pins::kBuzzer, OUTPUT);
  setLights(false, false);
  digitalWrite(pins::kBuzzer, LOW);
}

void LedBuzzer::show(const zias::Feedback& feedback) {
  const uint64_t now = monotonicMs();
  light_ = feedback.light;
  blink_.start(feedback.blink, now);
  beep_.start(feedback.beep, now);
  update(now);
}

void LedBuzzer::setLights(bool green, bool red) {
  digitalWrite(pins::kLedGreen, green ? HIGH : LOW);
  digitalWrite(pins::kLedRed, (red != pins::kLedRedActiveLow) ? HIGH : LOW);
}

void LedBuzzer::update(uint64_t nowMs) {
  const bool on = blink_.isOn(nowMs);
  const bool green = on && (light_ == zias::Light::Green || light_ == zias::Light::Amber);
  const bool red = on && (light_ == zias::Light::Red || light_ == zias::Light::Amber);
  setLights(green, red);
  digitalWrite(pins::kBuzzer, beep_.isOn(nowMs) ? HIGH : LOW);
}
