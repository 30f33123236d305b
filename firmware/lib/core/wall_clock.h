// Event timestamps. Until NTP has answered, an ESP8266 believes it is 1970;
// such a time would be worse than none, so the contract lets us omit ts and the
// server then uses the time it received the event.
#pragma once

#include <cstdint>
#include <optional>

#include "interfaces.h"

namespace zias {

constexpr int64_t kClockValidFromMs = 1577836800000LL;  // 2020-01-01T00:00:00Z

std::optional<int64_t> wallClockMs(Clock& clock);

}  // namespace zias
