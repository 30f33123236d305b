#include "reader.h"

#include <algorithm>

#include "card_uid.h"
#include "feedback.h"
#include "json_reader.h"
#include "json_writer.h"
#include "status.h"
#include "wall_clock.h"

namespace zias {

namespace {

constexpr std::size_t kContractBatchLimit = 100;

std::size_t clampBatchSize(std::size_t requested) {
  if (requested == 0) return 1;
  return std::min(requested, kContractBatchLimit);
}

}  // namespace

Reader::Reader(const ReaderOptions& options, const ReaderPorts& ports)
    : options_(options),
      ports_(ports),
      topics_(makeTopics(options.topicPrefix, options.deviceId)),
      queue_(ports.storage, options.queueCapacity),
      debouncer_(ReaderConfig{}.debounceS * 1000),
      pir_(options.pirWindowMs),
      backoff_(ports.rng, options.backoffBaseMs, options.backoffCapMs) {
  options_.replayMaxEvents = clampBatchSize(options.replayMaxEvents);
}

bool Reader::begin(uint64_t nowMs) {
  const bool bootSaved = ids_.begin(ports_.storage, ports_.rng);
  queue_.load();
  std::string savedConfig;
  // The last config the server sent, so a reader that boots without a broker
  // still behaves as configured.
  if (ports_.storage.loadValue(kConfigStorageKey, savedConfig)) {
    const ConfigResult saved = applyConfigPayload(config_, savedConfig);
    if (saved.ok) applyConfig(saved.config);
  }
  nextReconnectMs_ = nowMs;
  return bootSaved;
}

std::string Reader::willPayload() const { return lastWillPayload(); }

Event Reader::newEvent(EventType type) {
  Event event;
  event.id = ids_.next();
  event.tsMs = wallClockMs(ports_.clock);
  event.type = type;
  return event;
}

void Reader::show(Signal signal) { ports_.indicator.show(feedbackFor(signal)); }

void Reader::onCard(const std::string& uid, uint64_t nowMs) {
  if (!isFormattedCardUid(uid)) return;
  // A debounced read is silent: the first read already gave its feedback.
  if (!debouncer_.shouldSend(uid, nowMs)) return;
  show(Signal::CardRead);
  Event tap = newEvent(EventType::Rfid);
  tap.uid = uid;
  handleTap(std::move(tap), nowMs);
}

void Reader::handleTap(Event tap, uint64_t nowMs) {
  switch (config_.mode) {
    case Mode::Entry: tap.dir = Direction::In; break;
    case Mode::Exit: tap.dir = Direction::Out; break;
    case Mode::Toggle: break;  // the server toggles
    case Mode::Pir:
      tap.dir = pir_.directionAround(nowMs);
      if (tap.dir == Direction::Unknown) {
        holdForDirection(std::move(tap), nowMs);
        return;
      }
      break;
  }
  sendOrQueue(tap, nowMs);
}

// The person usually taps between passing the two sensors, so the second
// sensor fires after the tap. The tap waits briefly for it.
void Reader::holdForDirection(Event tap, uint64_t nowMs) {
  if (heldTaps_.size() >= kMaxHeldTaps) {
    sendOrQueue(heldTaps_.front().event, nowMs);
    heldTaps_.erase(heldTaps_.begin());
  }
  heldTaps_.push_back(HeldTap{std::move(tap), nowMs});
}

void Reader::onPir(PirSensor sensor, bool motion, uint64_t nowMs) {
  pir_.onMotion(sensor, motion, nowMs);
  Event event = newEvent(EventType::Pir);
  event.sensor = sensor;
  event.motion = motion;
  sendOrQueue(event, nowMs);
  if (motion) {
    for (auto it = heldTaps_.begin(); it != heldTaps_.end();) {
      it->event.dir = pir_.directionAround(it->tapMs);
      if (it->event.dir == Direction::Unknown) {
        ++it;
        continue;
      }
      sendOrQueue(it->event, nowMs);
      it = heldTaps_.erase(it);
    }
  }
}

void Reader::releaseExpiredTaps(uint64_t nowMs) {
  for (auto it = heldTaps_.begin(); it != heldTaps_.end();) {
    if (nowMs - it->tapMs < options_.pirWaitMs) {
      ++it;
      continue;
    }
    sendOrQueue(it->event, nowMs);  // still Unknown: no dir, the server toggles
    it = heldTaps_.erase(it);
  }
}

void Reader::sendOrQueue(const Event& event, uint64_t nowMs) {
  const std::string json = eventToJson(event);
  if (connected_ && ports_.publisher.publish(topics_.events, json, kQos, false)) {
    if (event.type == EventType::Rfid) expectAck(event.id, nowMs);
    return;
  }
  queue_.push(json);
  if (event.type == EventType::Rfid) show(Signal::StoredOffline);
}

void Reader::expectAck(const std::string& id, uint64_t nowMs) {
  if (pendingAcks_.size() >= kMaxPendingAcks) pendingAcks_.erase(pendingAcks_.begin());
  pendingAcks_.push_back(PendingAck{id, nowMs + options_.ackTimeoutMs});
}

void Reader::expireAcks(uint64_t nowMs) {
  const auto expired = [&](const PendingAck& pending) { return nowMs >= pending.deadlineMs; };
  if (std::any_of(pendingAcks_.begin(), pendingAcks_.end(), expired)) show(Signal::NoAnswer);
  pendingAcks_.erase(std::remove_if(pendingAcks_.begin(), pendingAcks_.end(), expired),
                     pendingAcks_.end());
}

void Reader::onConnected(uint64_t nowMs) {
  connected_ = true;
  connectedSinceMs_ = nowMs;
  publishStatus(nowMs);
}

void Reader::onDisconnected(uint64_t nowMs) {
  if (connected_ && nowMs - connectedSinceMs_ >= options_.stableConnectionMs) backoff_.reset();
  connected_ = false;
  nextReconnectMs_ = nowMs + backoff_.nextDelayMs();
}

void Reader::publishStatus(uint64_t nowMs) {
  StatusInfo info;
  info.fw = options_.firmwareVersion;
  info.ip = ports_.link.ipAddress();
  info.rssi = ports_.link.rssiDbm();
  info.uptimeS = nowMs / 1000;
  info.queued = queue_.size();
  ports_.publisher.publish(topics_.status, statusPayload(info), kQos, true);
  nextHeartbeatMs_ = nowMs + static_cast<uint64_t>(config_.heartbeatS) * 1000;
}

// One message per tick keeps the main loop free to read cards during a long
// replay; a failed publish leaves the batch queued for the next try.
void Reader::replayOneBatch() {
  if (queue_.size() == 0) return;
  const QueuedBatch batch = queue_.oldest(options_.replayMaxEvents, options_.replayMaxBytes);
  if (!batch.records.empty()) {
    JsonWriter array;
    array.beginArray();
    for (const std::string& record : batch.records) array.addRaw(record);
    array.endArray();
    if (!ports_.publisher.publish(topics_.events, array.str(), kQos, false)) return;
  }
  queue_.remove(batch);
}

void Reader::tick(uint64_t nowMs) {
  releaseExpiredTaps(nowMs);
  expireAcks(nowMs);
  if (!connected_) return;
  replayOneBatch();
  if (nowMs >= nextHeartbeatMs_) publishStatus(nowMs);
}

void Reader::onMessage(const std::string& topic, const std::string& payload, uint64_t nowMs) {
  if (topic == topics_.ack) handleAck(payload);
  else if (topic == topics_.config) handleConfig(payload, nowMs);
}

// Acks for events this boot is not waiting on (e.g. for replayed events) are
// ignored: the person who tapped is long gone.
void Reader::handleAck(const std::string& payload) {
  const auto ack = parseJsonObject(payload);
  if (!ack) return;
  const auto id = stringMember(*ack, "id");
  const auto result = stringMember(*ack, "result");
  if (!id || !result) return;
  const auto pending = std::find_if(pendingAcks_.begin(), pendingAcks_.end(),
                                    [&](const PendingAck& p) { return p.id == *id; });
  if (pending == pendingAcks_.end()) return;
  pendingAcks_.erase(pending);
  show(signalForAck(*result, stringMember(*ack, "dir").value_or("")));
}

void Reader::handleConfig(const std::string& payload, uint64_t nowMs) {
  // An empty retained message is how a config gets cleared on the broker;
  // keeping the current settings is the safe reading of that.
  if (payload.empty()) return;
  const ConfigResult result = applyConfigPayload(config_, payload);
  if (!result.ok) {
    lastConfigError_ = result.error;
    return;
  }
  lastConfigError_.clear();
  const bool heartbeatChanged = result.config.heartbeatS != config_.heartbeatS;
  const std::string newJson = configToJson(result.config);
  // The retained config arrives again on every reconnect; only a real change
  // is worth a flash write.
  const bool changed = newJson != configToJson(config_);
  applyConfig(result.config);
  if (changed) ports_.storage.saveValue(kConfigStorageKey, newJson);
  if (heartbeatChanged && connected_) {
    nextHeartbeatMs_ = nowMs + static_cast<uint64_t>(config_.heartbeatS) * 1000;
  }
}

void Reader::applyConfig(const ReaderConfig& config) {
  config_ = config;
  debouncer_.setWindowMs(config.debounceS * 1000);
}

}  // namespace zias
