#include "littlefs_storage.h"

#include <LittleFS.h>

#include <algorithm>

namespace {

constexpr const char* kQueueFile = "/queue.bin";

String valuePath(const std::string& key) { return String("/v/") + key.c_str(); }

}  // namespace

bool LittleFsStorage::begin() {
  if (!LittleFS.begin()) return false;
  const std::size_t wanted = slotCount_ * kRecordBytes;
  File file = LittleFS.open(kQueueFile, "a");
  if (!file) return false;
  // Growing the file once up front means later writes never extend it, which
  // keeps a power cut during a write from leaving a short file behind.
  static const uint8_t zeros[64] = {0};
  while (file.size() < wanted) {
    const std::size_t chunk = std::min(sizeof(zeros), wanted - file.size());
    if (file.write(zeros, chunk) != chunk) return false;
  }
  file.close();
  return true;
}

bool LittleFsStorage::loadValue(const std::string& key, std::string& value) {
  File file = LittleFS.open(valuePath(key), "r");
  if (!file) return false;
  value.clear();
  while (file.available()) value += static_cast<char>(file.read());
  return true;
}

bool LittleFsStorage::saveValue(const std::string& key, const std::string& value) {
  File file = LittleFS.open(valuePath(key), "w");
  if (!file) return false;
  return file.write(reinterpret_cast<const uint8_t*>(value.data()), value.size()) == value.size();
}

bool LittleFsStorage::loadSlot(std::size_t slot, std::string& record) {
  if (slot >= slotCount_) return false;
  File file = LittleFS.open(kQueueFile, "r");
  if (!file || !file.seek(slot * kRecordBytes, SeekSet)) return false;
  uint8_t header[2];
  if (file.read(header, 2) != 2) return false;
  const std::size_t length = header[0] | (header[1] << 8);
  if (length == 0 || length > zias::Storage::kMaxSlotBytes) return false;
  record.resize(length);
  return file.read(reinterpret_cast<uint8_t*>(&record[0]), length) == length;
}

bool LittleFsStorage::saveSlot(std::size_t slot, const std::string& record) {
  if (slot >= slotCount_ || record.size() > zias::Storage::kMaxSlotBytes) return false;
  File file = LittleFS.open(kQueueFile, "r+");
  if (!file || !file.seek(slot * kRecordBytes, SeekSet)) return false;
  const uint8_t header[2] = {static_cast<uint8_t>(record.size() & 0xFF),
                             static_cast<uint8_t>(record.size() >> 8)};
  return file.write(header, 2) == 2 &&
         file.write(reinterpret_cast<const uint8_t*>(record.data()), record.size()) == record.size();
}
