#include "card_debouncer.h"

#include <algorithm>

namespace zias {

bool CardDebouncer::shouldSend(const std::string& uid, uint64_t nowMs) {
  const auto it = std::find_if(recent_.begin(), recent_.end(),
                               [&](const Seen& seen) { return seen.uid == uid; });
  if (it != recent_.end() && nowMs - it->sentMs < windowMs_) return false;
  remember(uid, nowMs);
  return true;
}

void CardDebouncer::remember(const std::string& uid, uint64_t nowMs) {
  const auto same = std::find_if(recent_.begin(), recent_.end(),
                                 [&](const Seen& seen) { return seen.uid == uid; });
  if (same != recent_.end()) {
    same->sentMs = nowMs;
    return;
  }
  if (recent_.size() >= kRememberedCards) {
    const auto oldest = std::min_element(recent_.begin(), recent_.end(),
                                         [](const Seen& a, const Seen& b) { return a.sentMs < b.sentMs; });
    recent_.erase(oldest);
  }
  recent_.push_back(Seen{uid, nowMs});
}

}  // namespace zias
