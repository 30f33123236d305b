// Runs a scripted morning at one door through the core and writes every MQTT
// message the reader would publish, one JSON object per line, to the file
// named by the first argument:
//   {"topic": "...", "payload": "<payload as a JSON string>", "qos": 1, "retained": false}
// The backend's tests feed each payload to their validator, so everything here
// must be contract-exact. Exits non-zero if the run did not go as scripted.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "card_uid.h"
#include "fakes.h"
#include "json_writer.h"

using namespace zias;
using namespace zias::fakes;

namespace {

constexpr int64_t kMorningEpochMs = 1795766400000LL;  // a weekday morning, UTC

class LinePublisher : public Publisher {
 public:
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retained) override {
    if (brokerDown) return false;
    // Spaces after separators match the documented line format exactly.
    std::string out = "{\"topic\": ";
    appendJsonString(out, topic);
    out += ", \"payload\": ";
    appendJsonString(out, payload);
    out += ", \"qos\": " + std::to_string(qos) + ", \"retained\": " + (retained ? "true" : "false") + "}";
    lines.push_back(out);
    if (topic.size() >= 7 && topic.compare(topic.size() - 7, 7, "/events") == 0 && payload[0] == '[') {
      ++replayMessages;
    }
    return true;
  }
  bool brokerDown = false;
  int replayMessages = 0;
  std::vector<std::string> lines;
};

class PrintingIndicator : public Indicator {
 public:
  void show(const Feedback& feedback) override {
    if (!quiet) std::cout << "  feedback: " << signalName(feedback.signal) << "\n";
  }
  bool quiet = false;
};

std::string uidFor(int student) {
  // Alternate 4- and 7-byte cards, as a school with mixed card stock would have.
  const uint8_t bytes[7] = {0x04, 0xA1, static_cast<uint8_t>(student >> 8), static_cast<uint8_t>(student),
                            0xC3, 0xD4, 0xE5};
  return *formatCardUid(bytes, student % 2 == 0 ? 4 : 7);
}

struct Door {
  LinePublisher publisher;
  MemoryStorage storage;
  FakeClock clock;
  PrintingIndicator indicator;
  ScriptedRng rng{{12345}};
  FakeLink link;
  Reader reader;
  uint64_t now = 0;

  Door() : reader(options(), ReaderPorts{publisher, storage, clock, indicator, rng, link}) {
    storage.values["boot"] = "16";
  }

  static ReaderOptions options() {
    ReaderOptions o;
    o.deviceId = "door-b204";
    return o;
  }

  void advance(uint64_t ms) {
    now += ms;
    if (clock.nowMs != 0) clock.nowMs += static_cast<int64_t>(ms);
    reader.tick(now);
  }

  void walk(PirSensor first, PirSensor second, const std::string& uid) {
    reader.onPir(first, true, now);
    advance(700);
    reader.onCard(uid, now);
    advance(600);
    reader.onPir(second, true, now);
    advance(2500);
    reader.onPir(first, false, now);
    reader.onPir(second, false, now);
    advance(1000);
  }

  void ackLastTap(const char* result, const char* dir) {
    for (auto it = publisher.lines.rbegin(); it != publisher.lines.rend(); ++it) {
      const auto pos = it->find("\\\"type\\\":\\\"rfid\\\"");
      if (pos == std::string::npos) continue;
      const auto idStart = it->find("\\\"id\\\":\\\"") + 9;
      const std::string id = it->substr(idStart, it->find('\\', idStart) - idStart);
      std::string ack = "{\"id\":\"" + id + "\",\"result\":\"" + result + "\"";
      if (dir[0] != '\0') ack += std::string(",\"dir\":\"") + dir + "\"";
      reader.onMessage(reader.topics().ack, ack + "}", now);
      return;
    }
  }
};

bool expect(bool ok, const char* what) {
  if (!ok) std::cerr << "contract_scenario: FAILED: " << what << "\n";
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: contract_scenario OUTPUT.jsonl\n";
    return 2;
  }
  Door door;
  door.reader.begin(0);

  std::cout << "boot " << door.reader.bootCount() << ", clock not set yet\n";
  door.reader.onConnected(door.now);
  door.reader.onMessage(door.reader.topics().config, R"({"mode": "pir", "debounce_s": 5, "heartbeat_s": 60})", door.now);
  door.reader.onCard(uidFor(1), door.now);  // before NTP: no ts
  door.advance(3000);                       // no PIR order: sent without dir
  door.ackLastTap("accepted", "in");

  door.clock.nowMs = kMorningEpochMs;       // NTP answered
  std::cout << "clock set; walking in and out with clear PIR order\n";
  door.walk(PirSensor::Outer, PirSensor::Inner, uidFor(2));
  door.ackLastTap("accepted", "in");
  door.walk(PirSensor::Inner, PirSensor::Outer, uidFor(3));
  door.ackLastTap("accepted", "out");
  door.reader.onCard(uidFor(3), door.now);  // held too long: debounced, not sent
  door.advance(6000);
  door.reader.onCard(uidFor(99), door.now);
  door.advance(3000);
  door.ackLastTap("unknown_card", "");

  std::cout << "broker outage: buffering 250 events\n";
  door.publisher.brokerDown = true;
  door.reader.onDisconnected(door.now);
  door.indicator.quiet = true;  // 50 identical "stored offline" lines say nothing new
  for (int student = 10; door.reader.queued() < 250; ++student) {
    door.walk(student % 3 == 0 ? PirSensor::Inner : PirSensor::Outer,
              student % 3 == 0 ? PirSensor::Outer : PirSensor::Inner, uidFor(student));
  }
  const bool bufferedAll = door.reader.queued() == 250;

  std::cout << "broker back: replaying\n";
  door.publisher.brokerDown = false;
  door.indicator.quiet = false;
  door.advance(60000);
  door.reader.onConnected(door.now);
  for (int i = 0; i < 10 && door.reader.queued() > 0; ++i) door.advance(100);
  door.advance(60000);  // one heartbeat

  std::ofstream out(argv[1]);
  for (const std::string& line : door.publisher.lines) out << line << "\n";
  out.close();

  bool ok = expect(out.good(), "could not write the output file");
  ok &= expect(bufferedAll, "the outage should buffer exactly 250 events");
  ok &= expect(door.reader.queued() == 0, "the buffer should be empty after replay");
  ok &= expect(door.publisher.replayMessages >= 3, "250 events need at least 3 replay messages");
  ok &= expect(door.reader.dropped() == 0, "nothing should be dropped");
  std::cout << door.publisher.lines.size() << " messages (" << door.publisher.replayMessages
            << " replay arrays) written to " << argv[1] << "\n";
  return ok ? 0 : 1;
}
