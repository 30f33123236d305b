#include <doctest/doctest.h>

#include "fakes.h"
#include "json_reader.h"

using namespace zias;
using namespace zias::fakes;

namespace {

// Buffers `count` pir events while the broker is away.
void bufferWhileOffline(Harness& h, int count) {
  h.reader().begin(0);
  for (int i = 0; i < count; ++i) h.reader().onPir(PirSensor::Outer, i % 2 == 0, 1000 + i);
}

std::size_t countObjects(const std::string& array) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = array.find("{\"id\"", pos)) != std::string::npos; ++pos) ++n;
  return n;
}

}  // namespace

TEST_CASE("events during an outage are buffered, then replayed in arrays of at most 100") {
  Harness h;
  h.storage.values["boot"] = "4";
  bufferWhileOffline(h, 250);
  CHECK(h.publisher.messages.empty());
  CHECK(h.reader().queued() == 250);

  h.reader().onConnected(100000);
  for (int i = 0; i < 5; ++i) h.reader().tick(100000 + i);

  const auto batches = h.publisher.on(h.reader().topics().events);
  REQUIRE(batches.size() == 3);
  CHECK(countObjects(batches[0].payload) == 100);
  CHECK(countObjects(batches[1].payload) == 100);
  CHECK(countObjects(batches[2].payload) == 50);
  CHECK(batches[0].payload.rfind("[{\"id\":\"5-1\",", 0) == 0);  // oldest first
  CHECK(batches[2].payload.find("{\"id\":\"5-250\",") != std::string::npos);
  CHECK(batches[2].payload.back() == ']');
  CHECK(batches[0].qos == 1);
  CHECK(h.reader().queued() == 0);
}

TEST_CASE("a failed replay publish keeps the batch for the next try") {
  Harness h;
  bufferWhileOffline(h, 30);
  h.reader().onConnected(50000);
  h.publisher.failing = true;
  h.reader().tick(50001);
  CHECK(h.reader().queued() == 30);
  h.publisher.failing = false;
  h.reader().tick(50002);
  CHECK(h.reader().queued() == 0);
  CHECK(countObjects(h.publisher.on(h.reader().topics().events).at(0).payload) == 30);
}

TEST_CASE("a smaller batch limit and a byte limit are respected") {
  ReaderOptions options = Harness::defaultOptions();
  options.replayMaxEvents = 25;
  options.replayMaxBytes = 1000;
  Harness h(options);
  bufferWhileOffline(h, 60);
  h.reader().onConnected(50000);
  for (int i = 0; i < 20; ++i) h.reader().tick(50001 + i);
  for (const auto& batch : h.publisher.on(h.reader().topics().events)) {
    CHECK(countObjects(batch.payload) <= 25);
    CHECK(batch.payload.size() <= 1000 + 2);
  }
  CHECK(h.reader().queued() == 0);
}

TEST_CASE("a batch limit above the contract's 100 is clamped") {
  ReaderOptions options = Harness::defaultOptions();
  options.replayMaxEvents = 500;
  Harness h(options);
  bufferWhileOffline(h, 150);
  h.reader().onConnected(50000);
  h.reader().tick(50001);
  CHECK(countObjects(h.publisher.on(h.reader().topics().events).at(0).payload) == 100);
}

TEST_CASE("a failing live publish falls back to the buffer") {
  Harness h;
  h.online();
  h.publisher.failing = true;
  h.reader().onCard("04A1B2C3", 1000);
  CHECK(h.reader().queued() == 1);
  CHECK(h.indicator.shown.back() == Signal::StoredOffline);
}

TEST_CASE("a full buffer drops the oldest and the count survives a reboot") {
  ReaderOptions options = Harness::defaultOptions();
  options.queueCapacity = 100;
  Harness h(options);
  bufferWhileOffline(h, 130);
  CHECK(h.reader().queued() == 100);
  CHECK(h.reader().dropped() == 30);
  h.reboot();
  h.reader().begin(0);
  CHECK(h.reader().queued() == 100);
  CHECK(h.reader().dropped() == 30);
  h.reader().onConnected(1000);
  h.reader().tick(1001);
  const auto replayed = h.publisher.on(h.reader().topics().events).at(0).payload;
  CHECK(replayed.find("-31\",") != std::string::npos);   // the 31st event is now the oldest
  CHECK(replayed.find("-30\",") == std::string::npos);   // the first 30 were dropped
}
