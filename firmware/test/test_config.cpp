#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

TEST_CASE("a valid config replaces every value it names") {
  const ConfigResult r = applyConfigPayload(ReaderConfig{}, R"({"mode": "pir", "debounce_s": 8, "heartbeat_s": 30})");
  REQUIRE(r.ok);
  CHECK(r.config.mode == Mode::Pir);
  CHECK(r.config.debounceS == 8);
  CHECK(r.config.heartbeatS == 30);
}

TEST_CASE("missing keys keep their value and unknown keys are ignored") {
  ReaderConfig current;
  current.mode = Mode::Exit;
  const ConfigResult r = applyConfigPayload(current, R"({"heartbeat_s": 120, "room": "B-204"})");
  REQUIRE(r.ok);
  CHECK(r.config.mode == Mode::Exit);
  CHECK(r.config.debounceS == 5);
  CHECK(r.config.heartbeatS == 120);
}

TEST_CASE("every mode name is understood") {
  for (const auto& [name, mode] : std::vector<std::pair<std::string, Mode>>{
           {"entry", Mode::Entry}, {"exit", Mode::Exit}, {"toggle", Mode::Toggle}, {"pir", Mode::Pir}}) {
    const ConfigResult r = applyConfigPayload(ReaderConfig{}, "{\"mode\":\"" + name + "\"}");
    CHECK(r.ok);
    CHECK(r.config.mode == mode);
    CHECK(std::string(modeName(mode)) == name);
  }
}

TEST_CASE("bad values reject the whole message and keep the previous config") {
  ReaderConfig current;
  current.mode = Mode::Entry;
  current.debounceS = 7;
  const char* bad[] = {
      R"({"mode": "sideways"})",
      R"({"mode": 1})",
      R"({"mode": "pir", "debounce_s": -1})",
      R"({"mode": "pir", "debounce_s": 3601})",
      R"({"mode": "pir", "debounce_s": 2.5})",
      R"({"mode": "pir", "debounce_s": "5"})",
      R"({"heartbeat_s": 0})",
      R"({"heartbeat_s": 4})",
      R"({"heartbeat_s": 86401})",
      R"({"heartbeat_s": null})",
      R"(["mode", "pir"])",
      R"({"mode": "pir")",
  };
  for (const char* payload : bad) {
    CAPTURE(payload);
    const ConfigResult r = applyConfigPayload(current, payload);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(r.error.empty());
    CHECK(r.config.mode == Mode::Entry);
    CHECK(r.config.debounceS == 7);
  }
}

TEST_CASE("the reader keeps its config after a rejected message and reports why") {
  Harness h;
  h.online();
  const auto topic = h.reader().topics().config;
  h.reader().onMessage(topic, R"({"mode": "exit", "debounce_s": 10})", 0);
  h.reader().onMessage(topic, R"({"mode": "exit", "debounce_s": 9999})", 0);
  CHECK(h.reader().config().mode == Mode::Exit);
  CHECK(h.reader().config().debounceS == 10);
  CHECK(h.reader().lastConfigError().find("debounce_s") != std::string::npos);
  h.reader().onMessage(topic, "", 0);  // retained config cleared on the broker
  CHECK(h.reader().config().debounceS == 10);
}

TEST_CASE("the last good config survives a reboot, and is only rewritten on change") {
  Harness h;
  h.online();
  const auto topic = h.reader().topics().config;
  h.reader().onMessage(topic, R"({"mode": "pir", "debounce_s": 3, "heartbeat_s": 20})", 0);
  const int writes = h.storage.valueWrites;
  h.reader().onMessage(topic, R"({"mode": "pir", "debounce_s": 3, "heartbeat_s": 20})", 0);
  CHECK(h.storage.valueWrites == writes);
  h.reboot();
  h.reader().begin(0);
  CHECK(h.reader().config().mode == Mode::Pir);
  CHECK(h.reader().config().debounceS == 3);
  CHECK(h.reader().config().heartbeatS == 20);
}
