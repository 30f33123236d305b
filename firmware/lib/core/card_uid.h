// Card UIDs as the contract wants them: uppercase hex, no separators, and only
// the ISO 14443 lengths of 4, 7 or 10 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zias {

std::optional<std::string> formatCardUid(const uint8_t* bytes, std::size_t length);

// True for 8, 14 or 20 uppercase hex characters (what formatCardUid makes).
bool isFormattedCardUid(std::string_view uid);

}  // namespace zias
