#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

namespace {

void startInPirMode(Harness& h) {
  h.online();
  h.reader().onMessage(h.reader().topics().config, R"({"mode":"pir"})", 0);
}

std::vector<std::string> rfidPayloads(const Harness& h) {
  std::vector<std::string> taps;
  for (const auto& m : h.publisher.messages) {
    if (m.payload.find("\"type\":\"rfid\"") != std::string::npos) taps.push_back(m.payload);
  }
  return taps;
}

}  // namespace

TEST_CASE("outer then inner motion around a tap means in") {
  PirDirection pir(4000);
  pir.onMotion(PirSensor::Outer, true, 10000);
  pir.onMotion(PirSensor::Inner, true, 11500);
  CHECK(pir.directionAround(11000) == Direction::In);
}

TEST_CASE("inner then outer motion around a tap means out") {
  PirDirection pir(4000);
  pir.onMotion(PirSensor::Inner, true, 10000);
  pir.onMotion(PirSensor::Outer, true, 11500);
  CHECK(pir.directionAround(11000) == Direction::Out);
}

TEST_CASE("without both sensors near the tap the direction is unclear") {
  PirDirection pir(4000);
  CHECK(pir.directionAround(5000) == Direction::Unknown);
  pir.onMotion(PirSensor::Outer, true, 10000);
  CHECK(pir.directionAround(10500) == Direction::Unknown);
  pir.onMotion(PirSensor::Inner, true, 30000);  // long after: a different person
  CHECK(pir.directionAround(10500) == Direction::Unknown);
  pir.onMotion(PirSensor::Outer, false, 31000);  // end of motion does not count
  CHECK(pir.directionAround(31000) == Direction::Unknown);
}

TEST_CASE("the reader in pir mode sends dir when the order is already clear") {
  Harness h;
  startInPirMode(h);
  h.reader().onPir(PirSensor::Inner, true, 10000);
  h.reader().onPir(PirSensor::Outer, true, 10800);
  h.reader().onCard("04A1B2C3", 11000);
  const auto taps = rfidPayloads(h);
  REQUIRE(taps.size() == 1);
  CHECK(taps[0].find("\"dir\":\"out\"") != std::string::npos);
}

TEST_CASE("a tap between the two sensors waits for the second one") {
  Harness h;
  startInPirMode(h);
  h.reader().onPir(PirSensor::Outer, true, 10000);
  h.reader().onCard("04A1B2C3", 10500);
  h.reader().tick(11000);
  CHECK(rfidPayloads(h).empty());
  h.reader().onPir(PirSensor::Inner, true, 11200);
  const auto taps = rfidPayloads(h);
  REQUIRE(taps.size() == 1);
  CHECK(taps[0].find("\"dir\":\"in\"") != std::string::npos);
}

TEST_CASE("an unclear tap is sent without dir once the wait is over") {
  Harness h;
  startInPirMode(h);
  h.reader().onPir(PirSensor::Outer, true, 10000);
  h.reader().onCard("04A1B2C3", 10500);
  h.reader().tick(10500 + 2499);
  CHECK(rfidPayloads(h).empty());
  h.reader().tick(10500 + 2500);
  const auto taps = rfidPayloads(h);
  REQUIRE(taps.size() == 1);
  CHECK(taps[0].find("\"dir\"") == std::string::npos);
}

TEST_CASE("motion events are published as pir events, both edges") {
  Harness h;
  h.online();
  h.reader().onPir(PirSensor::Outer, true, 1000);
  h.reader().onPir(PirSensor::Inner, false, 2000);
  const auto events = h.publisher.on(h.reader().topics().events);
  REQUIRE(events.size() == 2);
  CHECK(events[0].payload.find(R"("type":"pir","sensor":"outer","state":1})") != std::string::npos);
  CHECK(events[1].payload.find(R"("type":"pir","sensor":"inner","state":0})") != std::string::npos);
  CHECK(events[0].qos == 1);
  CHECK_FALSE(events[0].retained);
}

TEST_CASE("entry and exit readers state the direction, toggle readers leave it out") {
  Harness h;
  h.online();
  h.reader().onCard("04A1B2C3", 1000);
  h.reader().onMessage(h.reader().topics().config, R"({"mode":"entry"})", 1000);
  h.reader().onCard("04A1B2C4", 2000);
  h.reader().onMessage(h.reader().topics().config, R"({"mode":"exit"})", 2000);
  h.reader().onCard("04A1B2C5", 3000);
  const auto taps = rfidPayloads(h);
  REQUIRE(taps.size() == 3);
  CHECK(taps[0].find("\"dir\"") == std::string::npos);
  CHECK(taps[1].find("\"dir\":\"in\"") != std::string::npos);
  CHECK(taps[2].find("\"dir\":\"out\"") != std::string::npos);
}
