// zias::Storage on LittleFS. Values are small files under /v/. Queue slots are
// fixed-size records in one preallocated file, so buffering an event rewrites
// one record instead of creating a file per event.
#pragma once

#include <cstddef>

#include "interfaces.h"

class LittleFsStorage : public zias::Storage {
 public:
  explicit LittleFsStorage(std::size_t slotCount) : slotCount_(slotCount) {}

  bool begin();  // mounts (formatting a blank flash) and preallocates the queue
  bool loadValue(const std::string& key, std::string& value) override;
  bool saveValue(const std::string& key, const std::string& value) override;
  bool loadSlot(std::size_t slot, std::string& record) override;
  bool saveSlot(std::size_t slot, const std::string& record) override;

 private:
  // 2-byte length, then the record, padded.
  static constexpr std::size_t kRecordBytes = 2 + zias::Storage::kMaxSlotBytes;

  std::size_t slotCount_;
};
