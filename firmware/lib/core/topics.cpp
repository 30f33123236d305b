#include "topics.h"

namespace zias {

Topics makeTopics(std::string_view prefix, std::string_view deviceId) {
  const std::string base =
      std::string(prefix.empty() ? kDefaultTopicPrefix : prefix) + "/devices/" + std::string(deviceId) + "/";
  return Topics{base + "events", base + "ack", base + "status", base + "config"};
}

bool isValidDeviceId(std::string_view deviceId) {
  if (deviceId.size() < 2 || deviceId.size() > 64) return false;
  for (std::size_t i = 0; i < deviceId.size(); ++i) {
    const char c = deviceId[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && c == '-')) return false;
  }
  return true;
}

}  // namespace zias
