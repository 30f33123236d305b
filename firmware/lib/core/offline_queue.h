// Persistent ring buffer of serialised events waiting for the broker.
// When full, the oldest event is dropped and counted: recent taps matter more
// at a school door than ones from hours ago, and the count lets staff see that
// something was lost instead of it vanishing silently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "interfaces.h"

namespace zias {

struct QueuedBatch {
  std::vector<std::string> records;  // oldest first, only the readable ones
  std::size_t slots = 0;             // how many queue entries the batch covers
  std::size_t unreadable = 0;        // entries that could not be read back
};

class OfflineQueue {
 public:
  static constexpr const char* kStorageKey = "queue";

  OfflineQueue(Storage& storage, std::size_t capacity);

  // Restores the bookkeeping saved by an earlier run; starts empty if it is
  // missing or does not fit this capacity.
  void load();

  // False only when the record is too large to store (never for contract events).
  bool push(const std::string& record);

  // Up to maxRecords of the oldest entries whose total size stays within
  // maxBytes (at least one entry is always offered, so a batch can't stall).
  QueuedBatch oldest(std::size_t maxRecords, std::size_t maxBytes) const;

  // Forgets the entries of a batch that was published; unreadable entries
  // count as dropped.
  void remove(const QueuedBatch& batch);

  std::size_t size() const { return count_; }
  std::size_t capacity() const { return capacity_; }
  uint32_t dropped() const { return dropped_; }

 private:
  std::size_t slotAt(std::size_t offset) const { return (head_ + offset) % capacity_; }
  void saveBookkeeping();

  Storage& storage_;
  std::size_t capacity_;
  std::size_t head_ = 0;   // slot of the oldest entry
  std::size_t count_ = 0;
  uint32_t dropped_ = 0;
};

}  // namespace zias
