#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

TEST_CASE("ids are <boot>-<seq> and the boot counter grows on every start") {
  MemoryStorage storage;
  storage.values["boot"] = "16";
  ScriptedRng rng;
  EventIds ids;
  REQUIRE(ids.begin(storage, rng));
  CHECK(ids.bootCount() == 17);
  CHECK(storage.values["boot"] == "17");
  CHECK(ids.next() == "17-1");
  CHECK(ids.next() == "17-2");

  EventIds afterReboot;
  afterReboot.begin(storage, rng);
  CHECK(afterReboot.next() == "18-1");
}

TEST_CASE("a reader without a saved counter starts at a random boot number") {
  MemoryStorage storage;
  ScriptedRng rng({41});
  EventIds ids;
  ids.begin(storage, rng);
  CHECK(ids.bootCount() == 42);
  CHECK(storage.values["boot"] == "42");
}

TEST_CASE("a garbled counter is treated like a missing one") {
  MemoryStorage storage;
  storage.values["boot"] = "12x";
  ScriptedRng rng({99});
  EventIds ids;
  ids.begin(storage, rng);
  CHECK(ids.bootCount() == 100);
}

TEST_CASE("begin reports when the counter could not be saved") {
  MemoryStorage storage;
  storage.failWrites = true;
  ScriptedRng rng;
  EventIds ids;
  CHECK_FALSE(ids.begin(storage, rng));
}

TEST_CASE("the reader's events carry fresh ids across reboots") {
  Harness h;
  h.storage.values["boot"] = "6";
  h.online();
  h.reader().onPir(PirSensor::Outer, true, 10);
  h.reboot();
  h.online(0);
  h.reader().onPir(PirSensor::Outer, true, 10);
  REQUIRE(h.publisher.messages.size() == 1);
  CHECK(h.publisher.messages[0].payload.rfind("{\"id\":\"8-1\"", 0) == 0);
}

TEST_CASE("strict uint32 parsing") {
  uint32_t v = 0;
  CHECK(parseUint32("4294967295", &v));
  CHECK(v == 4294967295u);
  CHECK_FALSE(parseUint32("4294967296", &v));
  CHECK_FALSE(parseUint32("", &v));
  CHECK_FALSE(parseUint32("-1", &v));
  CHECK_FALSE(parseUint32(" 1", &v));
}
