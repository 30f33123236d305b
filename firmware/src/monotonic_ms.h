// millis() wraps after 49.7 days; the core wants a clock that never does,
// because it compares deadlines with plain < on uint64_t.
#pragma once

#include <Arduino.h>

inline uint64_t monotonicMs() {
  static uint32_t last = 0;
  static uint64_t high = 0;
  const uint32_t now = millis();
  if (now < last) high += (1ULL << 32);
  last = now;
  return high + now;
}
