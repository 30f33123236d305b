// What the person at the door sees and hears. Each signal is a light colour
// plus two short on/off sequences, one for the light and one for the buzzer.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace zias {

enum class Signal {
  CardRead,       // immediately on a tap, before the server has answered
  AcceptedIn,
  AcceptedOut,
  Repeat,         // same card again within the server's debounce window
  Duplicate,      // the server already had this event id
  UnknownCard,
  RevokedCard,
  Invalid,
  StoredOffline,  // no broker: the tap is kept and will be sent later
  NoAnswer,       // sent, but no ack came back in time
};

enum class Light { None, Green, Red, Amber };  // Amber = both LEDs

// Alternating durations in ms, starting with "on": {on, off, on, off, ...}.
struct Sequence {
  static constexpr std::size_t kMaxSteps = 8;
  std::array<uint16_t, kMaxSteps> stepsMs{};
  uint8_t steps = 0;

  uint32_t totalMs() const;
};

struct Feedback {
  Signal signal;
  Light light;
  Sequence blink;
  Sequence beep;
};

Feedback feedbackFor(Signal signal);

// The ack's result (and dir when accepted) mapped to a signal. Results this
// firmware does not know are shown as Invalid: something is wrong either way.
Signal signalForAck(const std::string& result, const std::string& dir);

const char* signalName(Signal signal);

// Plays one Sequence without blocking: the hardware asks isOn(now) in its loop.
class SequencePlayer {
 public:
  void start(const Sequence& sequence, uint64_t nowMs);
  bool isOn(uint64_t nowMs) const;
  bool isDone(uint64_t nowMs) const;

 private:
  Sequence sequence_{};
  uint64_t startMs_ = 0;
};

}  // namespace zias
