#include <doctest/doctest.h>

#include "backoff.h"
#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

TEST_CASE("delays double up to the cap, jitter keeping them in [ceiling/2, ceiling]") {
  ScriptedRng low({0});
  Backoff lowest(low, 1000, 60000);
  std::vector<uint32_t> delays;
  for (int i = 0; i < 9; ++i) delays.push_back(lowest.nextDelayMs());
  CHECK(delays == std::vector<uint32_t>{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000});

  ScriptedRng high({0xFFFFFFFFu});
  Backoff highest(high, 1000, 60000);
  uint32_t last = 0;
  for (int i = 0; i < 12; ++i) last = highest.nextDelayMs();
  CHECK(last <= 60000);
  CHECK(last >= 30000);
}

TEST_CASE("the jitter comes from the injected RNG") {
  ScriptedRng a({0}), b({250});
  Backoff first(a, 1000, 60000), second(b, 1000, 60000);
  CHECK(first.nextDelayMs() == 500);
  CHECK(second.nextDelayMs() == 750);
}

TEST_CASE("reset starts again from the base") {
  ScriptedRng rng({0});
  Backoff backoff(rng, 1000, 60000);
  for (int i = 0; i < 5; ++i) backoff.nextDelayMs();
  backoff.reset();
  CHECK(backoff.nextDelayMs() == 500);
}

TEST_CASE("the reader waits out the backoff before asking to reconnect") {
  Harness h;
  h.reader().begin(0);
  CHECK(h.reader().reconnectDue(0));  // first attempt right away
  h.reader().onDisconnected(0);       // attempt failed
  CHECK_FALSE(h.reader().reconnectDue(499));
  CHECK(h.reader().reconnectDue(500));
  h.reader().onDisconnected(500);     // failed again: longer wait
  CHECK_FALSE(h.reader().reconnectDue(1499));
  CHECK(h.reader().reconnectDue(1500));
}

TEST_CASE("a stable connection resets the backoff, a flapping one does not") {
  Harness h;
  h.reader().begin(0);
  for (int i = 0; i < 4; ++i) h.reader().onDisconnected(0);  // ceiling now 16 s
  h.reader().onConnected(1000);
  h.reader().onDisconnected(2000);  // dropped after 1 s: keeps backing off
  CHECK(h.reader().nextReconnectMs() == 2000 + 8000);
  h.reader().onConnected(10000);
  h.reader().onDisconnected(10000 + 30000);  // was up 30 s: start over
  CHECK(h.reader().nextReconnectMs() == 40000 + 500);
  CHECK_FALSE(h.reader().reconnectDue(40000 + 499));
}
