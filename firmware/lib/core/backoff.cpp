#include "backoff.h"

namespace zias {

uint32_t Backoff::ceilingMs() const {
  uint64_t ceiling = baseMs_;
  for (uint32_t i = 0; i < attempts_ && ceiling < capMs_; ++i) ceiling *= 2;
  return static_cast<uint32_t>(ceiling < capMs_ ? ceiling : capMs_);
}

uint32_t Backoff::nextDelayMs() {
  const uint32_t ceiling = ceilingMs();
  ++attempts_;
  const uint32_t half = ceiling / 2;
  const uint32_t spread = ceiling - half;
  return half + (spread == 0 ? 0 : rng_.next() % (spread + 1));
}

}  // namespace zias
