#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

namespace {

std::size_t tapCount(const Harness& h) {
  std::size_t n = 0;
  for (const auto& m : h.publisher.messages) n += m.payload.find("\"rfid\"") != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("the same card within 5 s is not sent again") {
  Harness h;
  h.online();
  h.reader().onCard("04A1B2C3", 10000);
  h.reader().onCard("04A1B2C3", 14999);
  CHECK(tapCount(h) == 1);
  h.reader().onCard("04A1B2C3", 15000);
  CHECK(tapCount(h) == 2);
}

TEST_CASE("other cards are not held up by a debounced one") {
  Harness h;
  h.online();
  h.reader().onCard("04A1B2C3", 10000);
  h.reader().onCard("04A1B2C4", 10100);
  h.reader().onCard("04A1B2C3", 10200);
  CHECK(tapCount(h) == 2);
}

TEST_CASE("a debounced read gives no feedback") {
  Harness h;
  h.online();
  h.reader().onCard("04A1B2C3", 10000);
  const auto shownAfterFirst = h.indicator.shown.size();
  h.reader().onCard("04A1B2C3", 11000);
  CHECK(h.indicator.shown.size() == shownAfterFirst);
}

TEST_CASE("the debounce window follows the config") {
  Harness h;
  h.online();
  h.reader().onMessage(h.reader().topics().config, R"({"debounce_s": 30})", 0);
  h.reader().onCard("04A1B2C3", 10000);
  h.reader().onCard("04A1B2C3", 25000);
  CHECK(tapCount(h) == 1);
  h.reader().onMessage(h.reader().topics().config, R"({"debounce_s": 0})", 0);
  h.reader().onCard("04A1B2C3", 25001);
  CHECK(tapCount(h) == 2);
}
