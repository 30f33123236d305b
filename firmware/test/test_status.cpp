#include <doctest/doctest.h>

#include "fakes.h"
#include "status.h"

using namespace zias;
using namespace zias::fakes;

TEST_CASE("status on connect has the contract's keys, retained at QoS 1") {
  Harness h;
  h.reader().begin(0);
  h.reader().onPir(PirSensor::Outer, true, 100);  // buffered: no broker yet
  h.reader().onConnected(3600 * 1000 + 999);
  REQUIRE(h.publisher.messages.size() == 1);
  const Published& status = h.publisher.messages[0];
  CHECK(status.topic == "zias/devices/door-b204/status");
  CHECK(status.payload ==
        R"({"online":true,"fw":"1.0.0","ip":"10.20.0.31","rssi":-61,"uptime_s":3600,"queued":1})");
  CHECK(status.qos == 1);
  CHECK(status.retained);
}

TEST_CASE("the Last Will is an offline status on the same topic") {
  Harness h;
  CHECK(h.reader().willTopic() == "zias/devices/door-b204/status");
  CHECK(h.reader().willPayload() == R"({"online":false})");
  CHECK(lastWillPayload() == R"({"online":false})");
}

TEST_CASE("status repeats every heartbeat_s while connected") {
  Harness h;
  h.online(0);
  const auto statusTopic = h.reader().topics().status;
  h.reader().tick(59999);
  CHECK(h.publisher.on(statusTopic).empty());
  h.reader().tick(60000);
  CHECK(h.publisher.on(statusTopic).size() == 1);
  h.reader().onMessage(h.reader().topics().config, R"({"heartbeat_s": 10})", 61000);
  h.reader().tick(70999);
  CHECK(h.publisher.on(statusTopic).size() == 1);
  h.reader().tick(71000);
  CHECK(h.publisher.on(statusTopic).size() == 2);
  h.link.rssi = -75;
  h.reader().tick(81000);
  CHECK(h.publisher.on(statusTopic).back().payload.find("\"rssi\":-75") != std::string::npos);
}

TEST_CASE("no heartbeat while disconnected") {
  Harness h;
  h.online(0);
  h.reader().onDisconnected(1000);
  h.reader().tick(500000);
  CHECK(h.publisher.messages.empty());
}

TEST_CASE("status strings are escaped") {
  StatusInfo info;
  info.fw = "1.0.0\"beta";
  CHECK(statusPayload(info).find(R"("fw":"1.0.0\"beta")") != std::string::npos);
}
