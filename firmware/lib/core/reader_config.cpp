#include "reader_config.h"

#include "json_reader.h"
#include "json_writer.h"

namespace zias {

namespace {

bool parseMode(const std::string& name, Mode* mode) {
  if (name == "entry") *mode = Mode::Entry;
  else if (name == "exit") *mode = Mode::Exit;
  else if (name == "toggle") *mode = Mode::Toggle;
  else if (name == "pir") *mode = Mode::Pir;
  else return false;
  return true;
}

// Reads an optional integer member into *target when it lies in [min, max].
bool readBoundedInteger(const JsonObject& object, const char* key, uint32_t min, uint32_t max,
                        uint32_t* target, std::string* error) {
  if (object.count(key) == 0) return true;
  const auto value = integerMember(object, key);
  if (!value || *value < min || *value > max) {
    *error = std::string(key) + " must be an integer from " + std::to_string(min) + " to " +
             std::to_string(max);
    return false;
  }
  *target = static_cast<uint32_t>(*value);
  return true;
}

}  // namespace

const char* modeName(Mode mode) {
  switch (mode) {
    case Mode::Entry: return "entry";
    case Mode::Exit: return "exit";
    case Mode::Toggle: return "toggle";
    case Mode::Pir: return "pir";
  }
  return "toggle";
}

ConfigResult applyConfigPayload(const ReaderConfig& current, std::string_view payload) {
  ConfigResult result;
  result.config = current;
  const auto object = parseJsonObject(payload);
  if (!object) {
    result.error = "config is not a JSON object";
    return result;
  }
  ReaderConfig next = current;
  if (object->count("mode") != 0) {
    const auto name = stringMember(*object, "mode");
    if (!name || !parseMode(*name, &next.mode)) {
      result.error = "mode must be entry, exit, toggle or pir";
      return result;
    }
  }
  if (!readBoundedInteger(*object, "debounce_s", 0, kMaxDebounceS, &next.debounceS, &result.error) ||
      !readBoundedInteger(*object, "heartbeat_s", kMinHeartbeatS, kMaxHeartbeatS, &next.heartbeatS,
                          &result.error)) {
    return result;
  }
  result.ok = true;
  result.config = next;
  return result;
}

std::string configToJson(const ReaderConfig& config) {
  JsonWriter json;
  json.beginObject()
      .key("mode").addString(modeName(config.mode))
      .key("debounce_s").addInteger(config.debounceS)
      .key("heartbeat_s").addInteger(config.heartbeatS)
      .endObject();
  return json.str();
}

}  // namespace zias
