// The seams between the portable core and the hardware. The core only talks to
// the outside world through these, so every decision it makes can be tested on a
// PC with fakes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace zias {

struct Feedback;

class Publisher {
 public:
  virtual ~Publisher() = default;
  // True only when the message was handed over (for QoS 1: the broker has it),
  // because the core drops its own copy of buffered events on success.
  virtual bool publish(const std::string& topic, const std::string& payload, int qos,
                       bool retained) = 0;
};

// Small persistent store. Values are short strings under short keys (boot
// counter, queue bookkeeping, last config). Slots are the offline queue's
// fixed-size records, kept apart so flash can store them in one preallocated
// file instead of one file per event.
class Storage {
 public:
  static constexpr std::size_t kMaxSlotBytes = 190;

  virtual ~Storage() = default;
  virtual bool loadValue(const std::string& key, std::string& value) = 0;
  virtual bool saveValue(const std::string& key, const std::string& value) = 0;
  virtual bool loadSlot(std::size_t slot, std::string& record) = 0;
  virtual bool saveSlot(std::size_t slot, const std::string& record) = 0;
};

// Wall-clock time; may be unset (0 or a date in 1970) until NTP answers.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t epochMs() = 0;
};

// LEDs and buzzer. show() starts a pattern and returns at once; the hardware
// plays it in the background and a newer pattern replaces an older one.
class Indicator {
 public:
  virtual ~Indicator() = default;
  virtual void show(const Feedback& feedback) = 0;
};

class Rng {
 public:
  virtual ~Rng() = default;
  virtual uint32_t next() = 0;
};

// What the network link reports for the status message.
class Link {
 public:
  virtual ~Link() = default;
  virtual std::string ipAddress() = 0;
  virtual int rssiDbm() = 0;
};

}  // namespace zias
