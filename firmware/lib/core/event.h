// Events the reader publishes on <prefix>/devices/<device>/events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zias {

enum class EventType { Rfid, Pir };
enum class Direction { Unknown, In, Out };
enum class PirSensor { Outer, Inner };

struct Event {
  std::string id;
  std::optional<int64_t> tsMs;  // omitted from JSON when the clock is not set
  EventType type = EventType::Rfid;
  std::string uid;                         // rfid only
  Direction dir = Direction::Unknown;      // rfid only; Unknown is omitted
  PirSensor sensor = PirSensor::Outer;     // pir only
  bool motion = false;                     // pir only: state 1 or 0
};

// Compact JSON exactly as the contract spells it, keys in a fixed order.
std::string eventToJson(const Event& event);

const char* directionName(Direction dir);  // "in", "out" or "" for Unknown
const char* sensorName(PirSensor sensor);  // "outer" or "inner"

}  // namespace zias
