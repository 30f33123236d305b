// Suppresses a card that was already sent within the debounce window, so a
// card held a moment too long, or tapped twice, is one event and not two.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zias {

class CardDebouncer {
 public:
  // Remembering a few recent cards is enough: alternating taps A, B, A inside
  // the window must still suppress the second A.
  static constexpr std::size_t kRememberedCards = 16;

  explicit CardDebouncer(uint32_t windowMs) : windowMs_(windowMs) {}

  void setWindowMs(uint32_t windowMs) { windowMs_ = windowMs; }

  // True when the card should be sent; the send time is then remembered. The
  // window counts from the last send, not the last read, so a card left on the
  // reader cannot keep itself silent forever.
  bool shouldSend(const std::string& uid, uint64_t nowMs);

 private:
  struct Seen {
    std::string uid;
    uint64_t sentMs;
  };

  void remember(const std::string& uid, uint64_t nowMs);

  uint32_t windowMs_;
  std::vector<Seen> recent_;
};

}  // namespace zias
