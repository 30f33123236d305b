#include "event_ids.h"

namespace zias {

namespace {

// A reader whose flash was erased cannot know which boot numbers it already
// used; restarting at 1 would make the server answer "duplicate" to its taps.
// Starting from a random point in a large range makes a clash very unlikely.
constexpr uint32_t kRandomStartRange = 1000000000u;

}  // namespace

bool parseUint32(const std::string& text, uint32_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + static_cast<uint64_t>(c - '0');
  }
  if (result > 0xFFFFFFFFull) return false;
  *value = static_cast<uint32_t>(result);
  return true;
}

bool EventIds::begin(Storage& storage, Rng& rng) {
  std::string stored;
  uint32_t previous = 0;
  if (storage.loadValue(kStorageKey, stored) && parseUint32(stored, &previous) &&
      previous < 0xFFFFFFFFu) {
    boot_ = previous + 1;
  } else {
    boot_ = 1 + rng.next() % kRandomStartRange;
  }
  seq_ = 0;
  return storage.saveValue(kStorageKey, std::to_string(boot_));
}

std::string EventIds::next() {
  ++seq_;
  return std::to_string(boot_) + "-" + std::to_string(seq_);
}

}  // namespace zias
