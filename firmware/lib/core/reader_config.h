// The retained config the server publishes to <prefix>/devices/<device>/config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zias {

enum class Mode { Entry, Exit, Toggle, Pir };

struct ReaderConfig {
  // Toggle until the server says otherwise: it sends no dir, so the server's
  // own idea of this reader's mode decides.
  Mode mode = Mode::Toggle;
  uint32_t debounceS = 5;
  uint32_t heartbeatS = 60;
};

constexpr uint32_t kMaxDebounceS = 3600;
constexpr uint32_t kMinHeartbeatS = 5;  // faster would flood the broker with status
constexpr uint32_t kMaxHeartbeatS = 86400;

struct ConfigResult {
  bool ok = false;
  ReaderConfig config;  // the new config when ok, otherwise the unchanged current one
  std::string error;    // why it was rejected, for the serial log
};

// Applies a config payload on top of the current config. Missing keys keep
// their current value and unknown keys are ignored (the server may add some);
// any bad value rejects the whole message, because half-applying a config the
// server got wrong would leave the reader in a state nobody asked for.
ConfigResult applyConfigPayload(const ReaderConfig& current, std::string_view payload);

std::string configToJson(const ReaderConfig& config);
const char* modeName(Mode mode);

}  // namespace zias
