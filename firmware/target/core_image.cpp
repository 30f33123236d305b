// Target-check only: the portable core as the sketch uses it, linked for the
// ESP8266 so that the size report counts what the firmware would carry. The
// reader is a global, as in src/main.cpp, so its own bytes land in .bss; every
// entry point is called with inputs the compiler cannot see through, so none of
// the core's code is dropped as unused. The ports do nothing: their real
// versions are the hardware layer (src/), which is not linked here.
#include <cstdint>
#include <string>

#include "feedback.h"
#include "interfaces.h"
#include "reader.h"

namespace {

class NullPublisher : public zias::Publisher {
 public:
  bool publish(const std::string&, const std::string& payload, int, bool) override {
    return !payload.empty();
  }
};

class NullStorage : public zias::Storage {
 public:
  bool loadValue(const std::string&, std::string&) override { return false; }
  bool saveValue(const std::string&, const std::string&) override { return true; }
  bool loadSlot(std::size_t, std::string&) override { return false; }
  bool saveSlot(std::size_t, const std::string&) override { return true; }
};

volatile int64_t gEpochMs = 0;
volatile uint32_t gRandom = 0;
volatile uint64_t gNow = 0;
volatile int gInput = 0;

class InputClock : public zias::Clock {
 public:
  int64_t epochMs() override { return gEpochMs; }
};

class NullIndicator : public zias::Indicator {
 public:
  void show(const zias::Feedback& feedback) override { gInput = static_cast<int>(feedback.light); }
};

class InputRng : public zias::Rng {
 public:
  uint32_t next() override { return gRandom; }
};

class NullLink : public zias::Link {
 public:
  std::string ipAddress() override { return "0.0.0.0"; }
  int rssiDbm() override { return gInput; }
};

NullPublisher publisher;
NullStorage storage;
InputClock wallClock;
NullIndicator indicator;
InputRng rng;
NullLink link;

zias::ReaderOptions readerOptions() {
  zias::ReaderOptions options;
  options.deviceId = "door-target";
  options.queueCapacity = 1000;  // as src/main.cpp
  options.replayMaxBytes = 3500;
  return options;
}

zias::Reader reader(readerOptions(),
                    zias::ReaderPorts{publisher, storage, wallClock, indicator, rng, link});

}  // namespace

int main() {
  reader.begin(gNow);
  for (;;) {
    const std::string text(static_cast<std::size_t>(gInput & 0xff), 'A');
    switch (gInput) {
      case 0: reader.onCard(text, gNow); break;
      case 1: reader.onPir(zias::PirSensor::Outer, gInput > 2, gNow); break;
      case 2: reader.onConnected(gNow); break;
      case 3: reader.onDisconnected(gNow); break;
      case 4: reader.onMessage(reader.topics().ack, text, gNow); break;
      case 5: reader.onMessage(reader.topics().config, text, gNow); break;
      default: reader.tick(gNow); break;
    }
    if (reader.reconnectDue(gNow) && reader.willPayload().size() == reader.queued()) return 1;
  }
}
