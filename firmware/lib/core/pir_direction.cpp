#include "pir_direction.h"

namespace zias {

void PirDirection::onMotion(PirSensor sensor, bool motion, uint64_t nowMs) {
  if (!motion) return;
  (sensor == PirSensor::Outer ? outerStartMs_ : innerStartMs_) = nowMs;
}

bool PirDirection::isNear(const std::optional<uint64_t>& edgeMs, uint64_t tapMs) const {
  if (!edgeMs) return false;
  const uint64_t distance = *edgeMs > tapMs ? *edgeMs - tapMs : tapMs - *edgeMs;
  return distance <= windowMs_;
}

Direction PirDirection::directionAround(uint64_t tapMs) const {
  if (!isNear(outerStartMs_, tapMs) || !isNear(innerStartMs_, tapMs)) return Direction::Unknown;
  if (*outerStartMs_ < *innerStartMs_) return Direction::In;
  if (*innerStartMs_ < *outerStartMs_) return Direction::Out;
  return Direction::Unknown;  // same millisecond: no order to read
}

}  // namespace zias
