#include "feedback.h"

#include <initializer_list>

namespace zias {

namespace {

Sequence sequence(std::initializer_list<uint16_t> steps) {
  Sequence s;
  for (uint16_t step : steps) {
    if (s.steps == Sequence::kMaxSteps) break;
    s.stepsMs[s.steps++] = step;
  }
  return s;
}

}  // namespace

uint32_t Sequence::totalMs() const {
  uint32_t total = 0;
  for (uint8_t i = 0; i < steps; ++i) total += stepsMs[i];
  return total;
}

// Green means "you are counted", red means "see staff". Good news is short and
// quiet; bad news is long and loud so it is noticed in a crowd. In and out
// differ by the number of blinks/beeps so a student can tell which it was.
Feedback feedbackFor(Signal signal) {
  switch (signal) {
    case Signal::CardRead:
      return {signal, Light::None, sequence({}), sequence({40})};
    case Signal::AcceptedIn:
      return {signal, Light::Green, sequence({800}), sequence({120})};
    case Signal::AcceptedOut:
      return {signal, Light::Green, sequence({250, 150, 250}), sequence({80, 100, 80})};
    case Signal::Repeat:
      return {signal, Light::Green, sequence({100, 100, 100, 100, 100}), sequence({})};
    case Signal::Duplicate:
      return {signal, Light::Green, sequence({100, 100, 100}), sequence({})};
    case Signal::UnknownCard:
      return {signal, Light::Red, sequence({1500}), sequence({1000})};
    case Signal::RevokedCard:
      return {signal, Light::Red, sequence({300, 200, 300, 200, 300}), sequence({300, 200, 300, 200, 300})};
    case Signal::Invalid:
      return {signal, Light::Red, sequence({100, 100, 100, 100, 100, 100, 100}), sequence({600})};
    case Signal::StoredOffline:
      return {signal, Light::Amber, sequence({400, 200, 400}), sequence({60, 100, 60})};
    case Signal::NoAnswer:
      return {signal, Light::Amber, sequence({1000}), sequence({60})};
  }
  return {Signal::Invalid, Light::Red, sequence({600}), sequence({600})};
}

Signal signalForAck(const std::string& result, const std::string& dir) {
  if (result == "accepted") return dir == "out" ? Signal::AcceptedOut : Signal::AcceptedIn;
  if (result == "repeat") return Signal::Repeat;
  if (result == "duplicate") return Signal::Duplicate;
  if (result == "unknown_card") return Signal::UnknownCard;
  if (result == "revoked_card") return Signal::RevokedCard;
  return Signal::Invalid;
}

const char* signalName(Signal signal) {
  switch (signal) {
    case Signal::CardRead: return "card_read";
    case Signal::AcceptedIn: return "accepted_in";
    case Signal::AcceptedOut: return "accepted_out";
    case Signal::Repeat: return "repeat";
    case Signal::Duplicate: return "duplicate";
    case Signal::UnknownCard: return "unknown_card";
    case Signal::RevokedCard: return "revoked_card";
    case Signal::Invalid: return "invalid";
    case Signal::StoredOffline: return "stored_offline";
    case Signal::NoAnswer: return "no_answer";
  }
  return "?";
}

void SequencePlayer::start(const Sequence& sequence, uint64_t nowMs) {
  sequence_ = sequence;
  startMs_ = nowMs;
}

bool SequencePlayer::isOn(uint64_t nowMs) const {
  if (nowMs < startMs_) return false;
  uint64_t elapsed = nowMs - startMs_;
  for (uint8_t i = 0; i < sequence_.steps; ++i) {
    if (elapsed < sequence_.stepsMs[i]) return i % 2 == 0;  // even steps are "on"
    elapsed -= sequence_.stepsMs[i];
  }
  return false;
}

bool SequencePlayer::isDone(uint64_t nowMs) const {
  return nowMs < startMs_ || nowMs - startMs_ >= sequence_.totalMs();
}

}  // namespace zias
