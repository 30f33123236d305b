// A minimal JSON writer: just enough for the compact objects and arrays the
// reader publishes. Keys and strings are escaped; numbers are integers only
// because the contract has no fractional fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zias {

// Appends s as a quoted JSON string, escaping quotes, backslashes and control
// characters. Bytes >= 0x80 are passed through untouched (UTF-8 stays UTF-8).
void appendJsonString(std::string& out, std::string_view s);

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& addString(std::string_view value);
  JsonWriter& addInteger(int64_t value);
  JsonWriter& addBool(bool value);
  // Inserts already-serialised JSON (e.g. a stored event) as one value.
  JsonWriter& addRaw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void beforeValue();
  void open(char bracket);
  void close(char bracket);

  std::string out_;
  std::vector<bool> containerHasItems_;
  bool afterKey_ = false;
};

}  // namespace zias
