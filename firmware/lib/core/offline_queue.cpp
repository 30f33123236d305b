#include "offline_queue.h"

#include <cstdio>

namespace zias {

namespace {

bool looksLikeJsonObject(const std::string& record) {
  return record.size() >= 2 && record.front() == '{' && record.back() == '}';
}

}  // namespace

OfflineQueue::OfflineQueue(Storage& storage, std::size_t capacity)
    : storage_(storage), capacity_(capacity == 0 ? 1 : capacity) {}

void OfflineQueue::load() {
  std::string saved;
  if (!storage_.loadValue(kStorageKey, saved)) return;
  unsigned long capacity = 0, head = 0, count = 0, dropped = 0;
  char trailing = 0;
  const int fields = std::sscanf(saved.c_str(), "%lu %lu %lu %lu%c", &capacity, &head, &count,
                                 &dropped, &trailing);
  if (fields != 4) return;
  dropped_ = static_cast<uint32_t>(dropped);
  if (capacity != capacity_ || head >= capacity_ || count > capacity_) {
    // Saved by a build with another capacity: the slots can't be mapped back.
    dropped_ += static_cast<uint32_t>(count);
    saveBookkeeping();
    return;
  }
  head_ = head;
  count_ = count;
}

void OfflineQueue::saveBookkeeping() {
  storage_.saveValue(kStorageKey, std::to_string(capacity_) + " " + std::to_string(head_) + " " +
                                      std::to_string(count_) + " " + std::to_string(dropped_));
}

bool OfflineQueue::push(const std::string& record) {
  if (record.size() > Storage::kMaxSlotBytes) return false;
  if (count_ == capacity_) {
    head_ = slotAt(1);
    --count_;
    ++dropped_;
  }
  storage_.saveSlot(slotAt(count_), record);
  ++count_;
  saveBookkeeping();
  return true;
}

QueuedBatch OfflineQueue::oldest(std::size_t maxRecords, std::size_t maxBytes) const {
  QueuedBatch batch;
  std::size_t bytes = 0;
  while (batch.slots < count_ && batch.records.size() < maxRecords) {
    std::string record;
    const bool readable = storage_.loadSlot(slotAt(batch.slots), record) && looksLikeJsonObject(record);
    if (readable) {
      const std::size_t withSeparator = record.size() + 1;
      if (!batch.records.empty() && bytes + withSeparator > maxBytes) break;
      bytes += withSeparator;
      batch.records.push_back(std::move(record));
    } else {
      ++batch.unreadable;
    }
    ++batch.slots;
  }
  return batch;
}

void OfflineQueue::remove(const QueuedBatch& batch) {
  const std::size_t n = batch.slots < count_ ? batch.slots : count_;
  head_ = slotAt(n);
  count_ -= n;
  dropped_ += static_cast<uint32_t>(batch.unreadable);
  saveBookkeeping();
}

}  // namespace zias
