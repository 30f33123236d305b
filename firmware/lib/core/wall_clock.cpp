#include "wall_clock.h"

namespace zias {

std::optional<int64_t> wallClockMs(Clock& clock) {
  const int64_t now = clock.epochMs();
  if (now < kClockValidFromMs) return std::nullopt;
  return now;
}

}  // namespace zias
