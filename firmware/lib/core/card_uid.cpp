#include "card_uid.h"

namespace zias {

namespace {

bool isValidUidLength(std::size_t bytes) { return bytes == 4 || bytes == 7 || bytes == 10; }

}  // namespace

std::optional<std::string> formatCardUid(const uint8_t* bytes, std::size_t length) {
  if (bytes == nullptr || !isValidUidLength(length)) return std::nullopt;
  static const char kHex[] = "0123456789ABCDEF";
  std::string uid;
  uid.reserve(length * 2);
  for (std::size_t i = 0; i < length; ++i) {
    uid += kHex[bytes[i] >> 4];
    uid += kHex[bytes[i] & 0x0F];
  }
  return uid;
}

bool isFormattedCardUid(std::string_view uid) {
  if (uid.size() % 2 != 0 || !isValidUidLength(uid.size() / 2)) return false;
  for (char c : uid) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace zias
