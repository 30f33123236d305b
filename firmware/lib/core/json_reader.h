// A small, strict JSON reader for the two payloads the server sends to a reader
// (ack and config). Both are flat objects, so only the top-level members are
// kept; nested values are checked for syntax and then skipped.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace zias {

struct JsonValue {
  enum class Kind { String, Number, Bool, Null, Nested };
  Kind kind = Kind::Null;
  std::string text;  // decoded string, or the number exactly as written
  bool boolean = false;
};

using JsonObject = std::map<std::string, JsonValue>;

// nullopt unless the whole input is one well-formed JSON object without
// duplicate top-level keys.
std::optional<JsonObject> parseJsonObject(std::string_view input);

// The member as a string, or nullopt when missing or not a string.
std::optional<std::string> stringMember(const JsonObject& object, const std::string& key);

// The member as an integer, or nullopt when missing, not a number, fractional,
// in exponent form, or out of range.
std::optional<int64_t> integerMember(const JsonObject& object, const std::string& key);

}  // namespace zias
