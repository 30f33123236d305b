#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

namespace {

std::string record(int n) { return "{\"n\":" + std::to_string(n) + "}"; }

}  // namespace

TEST_CASE("the queue hands events back oldest first") {
  MemoryStorage storage;
  OfflineQueue queue(storage, 10);
  for (int i = 1; i <= 3; ++i) queue.push(record(i));
  const QueuedBatch batch = queue.oldest(2, 10000);
  CHECK(batch.records == std::vector<std::string>{record(1), record(2)});
  queue.remove(batch);
  CHECK(queue.size() == 1);
  CHECK(queue.oldest(10, 10000).records == std::vector<std::string>{record(3)});
}

TEST_CASE("a full queue drops the oldest events and counts them") {
  MemoryStorage storage;
  OfflineQueue queue(storage, 5);
  for (int i = 1; i <= 8; ++i) queue.push(record(i));
  CHECK(queue.size() == 5);
  CHECK(queue.dropped() == 3);
  const QueuedBatch batch = queue.oldest(10, 10000);
  CHECK(batch.records.front() == record(4));
  CHECK(batch.records.back() == record(8));
}

TEST_CASE("the queue and its drop count survive a reboot") {
  MemoryStorage storage;
  {
    OfflineQueue queue(storage, 4);
    for (int i = 1; i <= 6; ++i) queue.push(record(i));
    queue.remove(queue.oldest(1, 10000));
  }
  OfflineQueue restored(storage, 4);
  restored.load();
  CHECK(restored.size() == 3);
  CHECK(restored.dropped() == 2);
  CHECK(restored.oldest(10, 10000).records ==
        std::vector<std::string>{record(4), record(5), record(6)});
}

TEST_CASE("bookkeeping from a build with another capacity is discarded and counted") {
  MemoryStorage storage;
  storage.values["queue"] = "8 0 3 1";
  OfflineQueue queue(storage, 4);
  queue.load();
  CHECK(queue.size() == 0);
  CHECK(queue.dropped() == 4);
}

TEST_CASE("corrupt bookkeeping starts an empty queue") {
  MemoryStorage storage;
  storage.values["queue"] = "4 9 1 0";
  OfflineQueue queue(storage, 4);
  queue.load();
  CHECK(queue.size() == 0);
}

TEST_CASE("entries that cannot be read back are skipped and counted as dropped") {
  MemoryStorage storage;
  OfflineQueue queue(storage, 10);
  for (int i = 1; i <= 3; ++i) queue.push(record(i));
  storage.slots[1] = "garbage";
  const QueuedBatch batch = queue.oldest(10, 10000);
  CHECK(batch.records == std::vector<std::string>{record(1), record(3)});
  CHECK(batch.unreadable == 1);
  queue.remove(batch);
  CHECK(queue.size() == 0);
  CHECK(queue.dropped() == 1);
}

TEST_CASE("a batch stays under the byte limit but always offers one entry") {
  MemoryStorage storage;
  OfflineQueue queue(storage, 10);
  for (int i = 1; i <= 5; ++i) queue.push(record(i));  // 7 bytes each, 8 with a comma
  CHECK(queue.oldest(10, 20).records.size() == 2);
  CHECK(queue.oldest(10, 1).records.size() == 1);
}

TEST_CASE("oversized records are refused rather than truncated") {
  MemoryStorage storage;
  OfflineQueue queue(storage, 10);
  CHECK_FALSE(queue.push("{" + std::string(Storage::kMaxSlotBytes, 'x') + "}"));
  CHECK(queue.size() == 0);
}
