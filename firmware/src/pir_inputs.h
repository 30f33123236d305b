// Edge detection for the two motion sensors, with a short settle time because
// the PIR output can chatter at its switching point.
#pragma once

#include <Arduino.h>

class PirInput {
 public:
  explicit PirInput(uint8_t pin) : pin_(pin) {}

  void begin() { pinMode(pin_, INPUT); stable_ = digitalRead(pin_) == HIGH; }

  // True when the settled level changed; *motion then holds the new level.
  bool changed(uint64_t nowMs, bool* motion) {
    const bool level = digitalRead(pin_) == HIGH;
    if (level != candidate_) {
      candidate_ = level;
      candidateSinceMs_ = nowMs;
    }
    if (candidate_ == stable_ || nowMs - candidateSinceMs_ < kSettleMs) return false;
    stable_ = candidate_;
    *motion = stable_;
    return true;
  }

 private:
  static constexpr uint32_t kSettleMs = 50;
  uint8_t pin_;
  bool stable_ = false;
  bool candidate_ = false;
  uint64_t candidateSinceMs_ = 0;
};
