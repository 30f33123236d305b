// Status messages on <prefix>/devices/<device>/status (retained), and the Last
// Will the broker publishes there for us when the reader vanishes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace zias {

struct StatusInfo {
  std::string fw;
  std::string ip;
  int rssi = 0;
  uint64_t uptimeS = 0;
  std::size_t queued = 0;
};

std::string statusPayload(const StatusInfo& info);
std::string lastWillPayload();

}  // namespace zias
