#include "status.h"

#include "json_writer.h"

namespace zias {

std::string statusPayload(const StatusInfo& info) {
  JsonWriter json;
  json.beginObject()
      .key("online").addBool(true)
      .key("fw").addString(info.fw)
      .key("ip").addString(info.ip)
      .key("rssi").addInteger(info.rssi)
      .key("uptime_s").addInteger(static_cast<int64_t>(info.uptimeS))
      .key("queued").addInteger(static_cast<int64_t>(info.queued))
      .endObject();
  return json.str();
}

std::string lastWillPayload() {
  JsonWriter json;
  json.beginObject().key("online").addBool(false).endObject();
  return json.str();
}

}  // namespace zias
