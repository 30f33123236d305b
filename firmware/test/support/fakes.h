// In-memory stand-ins for the hardware, shared by the unit tests and the
// contract scenario.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "feedback.h"
#include "interfaces.h"
#include "reader.h"

namespace zias::fakes {

struct Published {
  std::string topic;
  std::string payload;
  int qos;
  bool retained;
};

class FakePublisher : public Publisher {
 public:
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retained) override {
    if (failing) return false;
    messages.push_back(Published{topic, payload, qos, retained});
    return true;
  }
  std::vector<Published> on(const std::string& topic) const {
    std::vector<Published> matching;
    for (const auto& m : messages) {
      if (m.topic == topic) matching.push_back(m);
    }
    return matching;
  }
  bool failing = false;
  std::vector<Published> messages;
};

class MemoryStorage : public Storage {
 public:
  bool loadValue(const std::string& key, std::string& value) override {
    const auto it = values.find(key);
    if (it == values.end()) return false;
    value = it->second;
    return true;
  }
  bool saveValue(const std::string& key, const std::string& value) override {
    if (failWrites) return false;
    values[key] = value;
    ++valueWrites;
    return true;
  }
  bool loadSlot(std::size_t slot, std::string& record) override {
    const auto it = slots.find(slot);
    if (it == slots.end()) return false;
    record = it->second;
    return true;
  }
  bool saveSlot(std::size_t slot, const std::string& record) override {
    if (failWrites) return false;
    slots[slot] = record;
    return true;
  }
  bool failWrites = false;
  int valueWrites = 0;
  std::map<std::string, std::string> values;
  std::map<std::size_t, std::string> slots;
};

class FakeClock : public Clock {
 public:
  int64_t epochMs() override { return nowMs; }
  int64_t nowMs = 0;  // unset, as on an ESP8266 before NTP
};

class RecordingIndicator : public Indicator {
 public:
  void show(const Feedback& feedback) override { shown.push_back(feedback.signal); }
  std::vector<Signal> shown;
};

// Returns the scripted values in turn, then repeats the last one.
class ScriptedRng : public Rng {
 public:
  explicit ScriptedRng(std::vector<uint32_t> script = {0}) : script_(std::move(script)) {}
  uint32_t next() override {
    const uint32_t value = script_[index_ < script_.size() ? index_ : script_.size() - 1];
    ++index_;
    return value;
  }

 private:
  std::vector<uint32_t> script_;
  std::size_t index_ = 0;
};

class FakeLink : public Link {
 public:
  std::string ipAddress() override { return ip; }
  int rssiDbm() override { return rssi; }
  std::string ip = "10.20.0.31";
  int rssi = -61;
};

// A Reader wired to fakes; tests reach into the fakes to set up and observe.
struct Harness {
  explicit Harness(ReaderOptions options = defaultOptions()) : options_(std::move(options)) {}
  // The Reader holds references to the fakes below, so a Harness stays put.
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  static ReaderOptions defaultOptions() {
    ReaderOptions options;
    options.deviceId = "door-b204";
    return options;
  }

  Reader& reader() {
    if (reader_ == nullptr) {
      reader_ = std::make_unique<Reader>(options_, ReaderPorts{publisher, storage, clock, indicator, rng, link});
    }
    return *reader_;
  }

  // Starts the reader and connects it, leaving the publisher empty.
  Reader& online(uint64_t nowMs = 0) {
    reader().begin(nowMs);
    reader().onConnected(nowMs);
    publisher.messages.clear();
    return reader();
  }

  // Simulates a power cycle: a new Reader over the same storage.
  void reboot() { reader_.reset(); }

  FakePublisher publisher;
  MemoryStorage storage;
  FakeClock clock;
  RecordingIndicator indicator;
  ScriptedRng rng;
  FakeLink link;

 private:
  ReaderOptions options_;
  std::unique_ptr<Reader> reader_;
};

}  // namespace zias::fakes
