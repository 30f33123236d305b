#include "json_writer.h"

namespace zias {

namespace {

void appendUnicodeEscape(std::string& out, unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0x0F];
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          appendUnicodeEscape(out, c);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void JsonWriter::beforeValue() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!containerHasItems_.empty()) {
    if (containerHasItems_.back()) out_ += ',';
    containerHasItems_.back() = true;
  }
}

void JsonWriter::open(char bracket) {
  beforeValue();
  out_ += bracket;
  containerHasItems_.push_back(false);
}

void JsonWriter::close(char bracket) {
  out_ += bracket;
  if (!containerHasItems_.empty()) containerHasItems_.pop_back();
}

JsonWriter& JsonWriter::beginObject() { open('{'); return *this; }
JsonWriter& JsonWriter::endObject() { close('}'); return *this; }
JsonWriter& JsonWriter::beginArray() { open('['); return *this; }
JsonWriter& JsonWriter::endArray() { close(']'); return *this; }

JsonWriter& JsonWriter::key(std::string_view name) {
  beforeValue();
  appendJsonString(out_, name);
  out_ += ':';
  afterKey_ = true;
  return *this;
}

JsonWriter& JsonWriter::addString(std::string_view value) {
  beforeValue();
  appendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::addInteger(int64_t value) {
  beforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::addBool(bool value) {
  beforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::addRaw(std::string_view json) {
  beforeValue();
  out_ += json;
  return *this;
}

}  // namespace zias
