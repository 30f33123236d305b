// Tells "in" from "out" by the order in which the two motion sensors at the
// door started seeing motion around a card tap: outer then inner is someone
// walking in, inner then outer someone walking out. Anything else is unclear,
// and then the reader sends no dir so the server falls back to toggle.
#pragma once

#include <cstdint>
#include <optional>

#include "event.h"

namespace zias {

class PirDirection {
 public:
  explicit PirDirection(uint32_t windowMs) : windowMs_(windowMs) {}

  // Only the start of motion matters: a PIR stays high for seconds after the
  // person has passed, so its falling edge says little about the order.
  void onMotion(PirSensor sensor, bool motion, uint64_t nowMs);

  // Direction for a tap at tapMs, from motion starts within windowMs of it.
  Direction directionAround(uint64_t tapMs) const;

 private:
  bool isNear(const std::optional<uint64_t>& edgeMs, uint64_t tapMs) const;

  uint32_t windowMs_;
  std::optional<uint64_t> outerStartMs_;
  std::optional<uint64_t> innerStartMs_;
};

}  // namespace zias
