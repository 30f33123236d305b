#include "event.h"

#include "json_writer.h"

namespace zias {

const char* directionName(Direction dir) {
  switch (dir) {
    case Direction::In: return "in";
    case Direction::Out: return "out";
    case Direction::Unknown: break;
  }
  return "";
}

const char* sensorName(PirSensor sensor) {
  return sensor == PirSensor::Outer ? "outer" : "inner";
}

std::string eventToJson(const Event& event) {
  JsonWriter json;
  json.beginObject();
  json.key("id").addString(event.id);
  if (event.tsMs) json.key("ts").addInteger(*event.tsMs);
  if (event.type == EventType::Rfid) {
    json.key("type").addString("rfid");
    json.key("uid").addString(event.uid);
    if (event.dir != Direction::Unknown) json.key("dir").addString(directionName(event.dir));
  } else {
    json.key("type").addString("pir");
    json.key("sensor").addString(sensorName(event.sensor));
    json.key("state").addInteger(event.motion ? 1 : 0);
  }
  json.endObject();
  return json.str();
}

}  // namespace zias
