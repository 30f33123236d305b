#include <doctest/doctest.h>

#include "card_uid.h"
#include "fakes.h"
#include "topics.h"
#include "wall_clock.h"

using namespace zias;
using namespace zias::fakes;

TEST_CASE("event JSON matches the contract's examples") {
  Event tap;
  tap.id = "17-1043";
  tap.tsMs = 1795766462900LL;
  tap.uid = "04A1B2C3";
  tap.dir = Direction::In;
  CHECK(eventToJson(tap) == R"({"id":"17-1043","ts":1795766462900,"type":"rfid","uid":"04A1B2C3","dir":"in"})");

  Event pir;
  pir.id = "17-1044";
  pir.tsMs = 1795766461100LL;
  pir.type = EventType::Pir;
  pir.sensor = PirSensor::Inner;
  pir.motion = false;
  CHECK(eventToJson(pir) == R"({"id":"17-1044","ts":1795766461100,"type":"pir","sensor":"inner","state":0})");
}

TEST_CASE("ts is omitted while the clock is not set, and present once it is") {
  Harness h;
  h.online();
  h.clock.nowMs = 0;
  h.reader().onCard("04A1B2C3", 1000);
  h.clock.nowMs = kClockValidFromMs - 1;  // still before 2020: not trusted
  h.reader().onPir(PirSensor::Outer, true, 2000);
  h.clock.nowMs = 1795766462345LL;
  h.reader().onPir(PirSensor::Outer, false, 3000);
  const auto events = h.publisher.on(h.reader().topics().events);
  REQUIRE(events.size() == 3);
  CHECK(events[0].payload.find("\"ts\"") == std::string::npos);
  CHECK(events[1].payload.find("\"ts\"") == std::string::npos);
  CHECK(events[2].payload.find("\"ts\":1795766462345,") != std::string::npos);
}

TEST_CASE("card UIDs are uppercase hex of 4, 7 or 10 bytes") {
  const uint8_t four[] = {0x04, 0xa1, 0xb2, 0xc3};
  const uint8_t seven[] = {0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
  const uint8_t ten[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff};
  CHECK(formatCardUid(four, 4) == "04A1B2C3");
  CHECK(formatCardUid(seven, 7) == "04A1B2C3D4E5F6");
  CHECK(formatCardUid(ten, 10) == "000102030405060708FF");
  CHECK_FALSE(formatCardUid(four, 3));
  CHECK_FALSE(formatCardUid(seven, 5));
  CHECK_FALSE(formatCardUid(nullptr, 4));
  CHECK(isFormattedCardUid("04A1B2C3"));
  CHECK_FALSE(isFormattedCardUid("04a1b2c3"));
  CHECK_FALSE(isFormattedCardUid("04:A1:B2:C3"));
  CHECK_FALSE(isFormattedCardUid("04A1B2"));
}

TEST_CASE("a malformed uid handed to the reader is not published") {
  Harness h;
  h.online();
  h.reader().onCard("04A1B2", 1000);
  CHECK(h.publisher.messages.empty());
}

TEST_CASE("topics follow <prefix>/devices/<device>/<kind>, prefix zias by default") {
  const Topics t = makeTopics("", "door-b204");
  CHECK(t.events == "zias/devices/door-b204/events");
  CHECK(t.ack == "zias/devices/door-b204/ack");
  CHECK(t.status == "zias/devices/door-b204/status");
  CHECK(t.config == "zias/devices/door-b204/config");
  CHECK(makeTopics("school1", "r1").events == "school1/devices/r1/events");
}

TEST_CASE("device ids follow the contract's form") {
  CHECK(isValidDeviceId("door-b204"));
  CHECK(isValidDeviceId("r1"));
  CHECK(isValidDeviceId(std::string(64, 'a')));
  CHECK_FALSE(isValidDeviceId(std::string(65, 'a')));
  CHECK_FALSE(isValidDeviceId("r"));
  CHECK_FALSE(isValidDeviceId("-door"));
  CHECK_FALSE(isValidDeviceId("Door-1"));
  CHECK_FALSE(isValidDeviceId("door_1"));
}
