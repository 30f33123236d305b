#include "json_reader.h"

#include <cstddef>
#include <limits>

namespace zias {

namespace {

// Deep nesting only appears in hostile input; refusing it keeps the recursion
// far away from the ESP8266's 4 KiB stack.
constexpr int kMaxDepth = 8;

class Parser {
 public:
  explicit Parser(std::string_view input) : in_(input) {}

  std::optional<JsonObject> parseTopObject() {
    skipSpace();
    JsonObject object;
    if (!parseObject(&object, 0)) return std::nullopt;
    skipSpace();
    if (pos_ != in_.size()) return std::nullopt;
    return object;
  }

 private:
  bool atEnd() const { return pos_ >= in_.size(); }
  char peek() const { return atEnd() ? '\0' : in_[pos_]; }

  void skipSpace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  bool consume(char expected) {
    if (peek() != expected || atEnd()) return false;
    ++pos_;
    return true;
  }

  bool consumeWord(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // object == nullptr means "validate and skip".
  bool parseObject(JsonObject* object, int depth) {
    if (depth > kMaxDepth || !consume('{')) return false;
    skipSpace();
    if (consume('}')) return true;
    while (true) {
      skipSpace();
      std::string key;
      if (!parseString(&key)) return false;
      skipSpace();
      if (!consume(':')) return false;
      skipSpace();
      JsonValue value;
      if (!parseValue(&value, depth)) return false;
      if (object != nullptr && !object->emplace(std::move(key), std::move(value)).second) {
        return false;  // duplicate key: ambiguous, so refuse the whole message
      }
      skipSpace();
      if (consume('}')) return true;
      if (!consume(',')) return false;
    }
  }

  bool parseArray(int depth) {
    if (depth > kMaxDepth || !consume('[')) return false;
    skipSpace();
    if (consume(']')) return true;
    while (true) {
      skipSpace();
      JsonValue ignored;
      if (!parseValue(&ignored, depth)) return false;
      skipSpace();
      if (consume(']')) return true;
      if (!consume(',')) return false;
    }
  }

  bool parseValue(JsonValue* value, int depth) {
    switch (peek()) {
      case '"':
        value->kind = JsonValue::Kind::String;
        return parseString(&value->text);
      case '{':
        value->kind = JsonValue::Kind::Nested;
        return parseObject(nullptr, depth + 1);
      case '[':
        value->kind = JsonValue::Kind::Nested;
        return parseArray(depth + 1);
      case 't':
        value->kind = JsonValue::Kind::Bool;
        value->boolean = true;
        return consumeWord("true");
      case 'f':
        value->kind = JsonValue::Kind::Bool;
        value->boolean = false;
        return consumeWord("false");
      case 'n':
        value->kind = JsonValue::Kind::Null;
        return consumeWord("null");
      default:
        value->kind = JsonValue::Kind::Number;
        return parseNumber(&value->text);
    }
  }

  bool consumeDigits() {
    const std::size_t start = pos_;
    while (!atEnd() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool parseNumber(std::string* text) {
    const std::size_t start = pos_;
    consume('-');
    if (consume('0')) {
      // JSON forbids leading zeros such as 05.
    } else if (!consumeDigits()) {
      return false;
    }
    if (consume('.') && !consumeDigits()) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (!consume('+')) consume('-');
      if (!consumeDigits()) return false;
    }
    *text = std::string(in_.substr(start, pos_ - start));
    return true;
  }

  bool parseHex4(uint32_t* code) {
    if (pos_ + 4 > in_.size()) return false;
    uint32_t result = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = in_[pos_++];
      result <<= 4;
      if (c >= '0' && c <= '9') result |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') result |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') result |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    *code = result;
    return true;
  }

  static void appendUtf8(std::string* out, uint32_t code) {
    if (code < 0x80) {
      *out += static_cast<char>(code);
    } else if (code < 0x800) {
      *out += static_cast<char>(0xC0 | (code >> 6));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      *out += static_cast<char>(0xE0 | (code >> 12));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (code >> 18));
      *out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool parseUnicodeEscape(std::string* out) {
    uint32_t code = 0;
    if (!parseHex4(&code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low = 0;
      if (!consume('\\') || !consume('u') || !parseHex4(&low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(out, code);
    return true;
  }

  bool parseEscape(std::string* out) {
    if (atEnd()) return false;
    const char c = in_[pos_++];
    switch (c) {
      case '"': *out += '"'; return true;
      case '\\': *out += '\\'; return true;
      case '/': *out += '/'; return true;
      case 'b': *out += '\b'; return true;
      case 'f': *out += '\f'; return true;
      case 'n': *out += '\n'; return true;
      case 'r': *out += '\r'; return true;
      case 't': *out += '\t'; return true;
      case 'u': return parseUnicodeEscape(out);
      default: return false;
    }
  }

  bool parseString(std::string* out) {
    if (!consume('"')) return false;
    while (!atEnd()) {
      const char c = in_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (!parseEscape(out)) return false;
      } else {
        *out += c;
      }
    }
    return false;  // unterminated
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

bool isPlainInteger(const std::string& text) {
  std::size_t i = (!text.empty() && text[0] == '-') ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<JsonObject> parseJsonObject(std::string_view input) {
  return Parser(input).parseTopObject();
}

std::optional<std::string> stringMember(const JsonObject& object, const std::string& key) {
  const auto it = object.find(key);
  if (it == object.end() || it->second.kind != JsonValue::Kind::String) return std::nullopt;
  return it->second.text;
}

std::optional<int64_t> integerMember(const JsonObject& object, const std::string& key) {
  const auto it = object.find(key);
  if (it == object.end() || it->second.kind != JsonValue::Kind::Number) return std::nullopt;
  const std::string& text = it->second.text;
  if (!isPlainInteger(text) || text.size() > 19) return std::nullopt;
  const bool negative = text[0] == '-';
  uint64_t magnitude = 0;
  for (std::size_t i = negative ? 1 : 0; i < text.size(); ++i) {
    magnitude = magnitude * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  const auto value = static_cast<int64_t>(magnitude);
  return negative ? -value : value;
}

}  // namespace zias
