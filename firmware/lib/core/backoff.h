// Reconnect delays: doubling from a base up to a cap, with jitter so that a
// building full of readers does not hammer the broker in lockstep after an
// outage.
#pragma once

#include <cstdint>

#include "interfaces.h"

namespace zias {

class Backoff {
 public:
  Backoff(Rng& rng, uint32_t baseMs, uint32_t capMs) : rng_(rng), baseMs_(baseMs), capMs_(capMs) {}

  // The delay before the next attempt: uniformly in [ceiling/2, ceiling], where
  // the ceiling doubles per failed attempt until it reaches the cap.
  uint32_t nextDelayMs();
  void reset() { attempts_ = 0; }
  uint32_t attempts() const { return attempts_; }

 private:
  uint32_t ceilingMs() const;

  Rng& rng_;
  uint32_t baseMs_;
  uint32_t capMs_;
  uint32_t attempts_ = 0;
};

}  // namespace zias
