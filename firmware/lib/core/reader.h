// The door reader's brain. The hardware layer feeds it what happened (a card,
// a motion sensor edge, the broker coming and going, a message) together with
// the current monotonic time in ms, and it decides what to publish, store and
// show. It never reads a clock or a pin itself, so tests can drive it exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backoff.h"
#include "card_debouncer.h"
#include "event.h"
#include "event_ids.h"
#include "feedback.h"
#include "interfaces.h"
#include "offline_queue.h"
#include "pir_direction.h"
#include "reader_config.h"
#include "topics.h"

namespace zias {

struct ReaderOptions {
  std::string deviceId;
  std::string topicPrefix = kDefaultTopicPrefix;
  std::string firmwareVersion = "1.0.0";
  std::size_t queueCapacity = 500;
  std::size_t replayMaxEvents = 100;   // the contract's limit per message
  std::size_t replayMaxBytes = 60000;  // under the contract's 64 KiB, or the client's buffer
  uint32_t pirWindowMs = 4000;         // "within a few seconds" of the tap
  uint32_t pirWaitMs = 2500;           // how long a tap may wait for the second sensor
  uint32_t ackTimeoutMs = 4000;
  uint32_t backoffBaseMs = 1000;
  uint32_t backoffCapMs = 60000;
  // A connection that lasted this long counts as healthy, so the next outage
  // starts again with short reconnect delays; a flapping one keeps backing off.
  uint32_t stableConnectionMs = 30000;
};

struct ReaderPorts {
  Publisher& publisher;
  Storage& storage;
  Clock& clock;
  Indicator& indicator;
  Rng& rng;
  Link& link;
};

class Reader {
 public:
  static constexpr int kQos = 1;
  static constexpr std::size_t kMaxHeldTaps = 4;
  static constexpr std::size_t kMaxPendingAcks = 16;
  static constexpr const char* kConfigStorageKey = "config";

  Reader(const ReaderOptions& options, const ReaderPorts& ports);

  // Call once at start-up. False when the boot counter could not be saved.
  bool begin(uint64_t nowMs);

  void onCard(const std::string& uid, uint64_t nowMs);  // uid as formatCardUid makes it
  void onPir(PirSensor sensor, bool motion, uint64_t nowMs);
  void onConnected(uint64_t nowMs);     // after connect and subscribe succeeded
  void onDisconnected(uint64_t nowMs);  // connection lost, or an attempt failed
  void onMessage(const std::string& topic, const std::string& payload, uint64_t nowMs);
  void tick(uint64_t nowMs);

  bool reconnectDue(uint64_t nowMs) const { return !connected_ && nowMs >= nextReconnectMs_; }
  uint64_t nextReconnectMs() const { return nextReconnectMs_; }

  const Topics& topics() const { return topics_; }
  const std::string& willTopic() const { return topics_.status; }
  std::string willPayload() const;

  bool connected() const { return connected_; }
  std::size_t queued() const { return queue_.size(); }
  uint32_t dropped() const { return queue_.dropped(); }
  uint32_t bootCount() const { return ids_.bootCount(); }
  const ReaderConfig& config() const { return config_; }
  const std::string& lastConfigError() const { return lastConfigError_; }

 private:
  struct HeldTap {
    Event event;
    uint64_t tapMs;
  };
  struct PendingAck {
    std::string id;
    uint64_t deadlineMs;
  };

  Event newEvent(EventType type);
  void handleTap(Event tap, uint64_t nowMs);
  void holdForDirection(Event tap, uint64_t nowMs);
  void releaseResolvedTaps();
  void releaseExpiredTaps(uint64_t nowMs);
  void sendOrQueue(const Event& event, uint64_t nowMs);
  void expectAck(const std::string& id, uint64_t nowMs);
  void expireAcks(uint64_t nowMs);
  void replayOneBatch();
  void publishStatus(uint64_t nowMs);
  void handleAck(const std::string& payload);
  void handleConfig(const std::string& payload, uint64_t nowMs);
  void applyConfig(const ReaderConfig& config);
  void show(Signal signal);

  ReaderOptions options_;
  ReaderPorts ports_;
  Topics topics_;
  EventIds ids_;
  OfflineQueue queue_;
  CardDebouncer debouncer_;
  PirDirection pir_;
  Backoff backoff_;
  ReaderConfig config_;
  std::string lastConfigError_;

  bool connected_ = false;
  uint64_t connectedSinceMs_ = 0;
  uint64_t nextReconnectMs_ = 0;
  uint64_t nextHeartbeatMs_ = 0;
  std::vector<HeldTap> heldTaps_;
  std::vector<PendingAck> pendingAcks_;
};

}  // namespace zias
