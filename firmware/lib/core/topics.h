// MQTT topic names: <prefix>/devices/<device>/events|ack|status|config.
#pragma once

#include <string>
#include <string_view>

namespace zias {

constexpr const char* kDefaultTopicPrefix = "zias";

struct Topics {
  std::string events;  // reader -> server
  std::string ack;     // server -> reader
  std::string status;  // reader -> server, retained, also the Last Will
  std::string config;  // server -> reader, retained
};

Topics makeTopics(std::string_view prefix, std::string_view deviceId);

// The contract's device id form [a-z0-9][a-z0-9-]{1,63}; the id is also the
// MQTT username and client id, so a typo here means the broker refuses us.
bool isValidDeviceId(std::string_view deviceId);

}  // namespace zias
