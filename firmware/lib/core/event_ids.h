// Event ids of the form <boot>-<seq>. The server treats a repeated (device, id)
// as a duplicate forever, so ids must never repeat across reboots: the boot
// counter is persisted and bumped on every start, the sequence restarts at 1.
#pragma once

#include <cstdint>
#include <string>

#include "interfaces.h"

namespace zias {

class EventIds {
 public:
  static constexpr const char* kStorageKey = "boot";

  // Reads, increments and saves the boot counter. Returns false when the new
  // value could not be saved (ids may then repeat after the next reboot).
  bool begin(Storage& storage, Rng& rng);

  std::string next();
  uint32_t bootCount() const { return boot_; }

 private:
  uint32_t boot_ = 0;
  uint32_t seq_ = 0;
};

// Strict decimal parse of an unsigned 32-bit number ("" and "12a" are rejected).
bool parseUint32(const std::string& text, uint32_t* value);

}  // namespace zias
