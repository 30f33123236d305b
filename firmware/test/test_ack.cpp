#include <doctest/doctest.h>

#include "fakes.h"

using namespace zias;
using namespace zias::fakes;

namespace {

// Taps a card on a connected reader and returns the id it was sent with.
std::string tapAndGetId(Harness& h, uint64_t nowMs) {
  h.reader().onCard("04A1B2C3", nowMs);
  const std::string& payload = h.publisher.messages.back().payload;
  const auto start = payload.find("\"id\":\"") + 6;
  return payload.substr(start, payload.find('"', start) - start);
}

Signal signalAfterAck(const std::string& result, const std::string& extra = "") {
  Harness h;
  h.online();
  const std::string id = tapAndGetId(h, 1000);
  h.reader().onMessage(h.reader().topics().ack,
                       "{\"id\":\"" + id + "\",\"result\":\"" + result + "\"" + extra + "}", 1200);
  return h.indicator.shown.back();
}

}  // namespace

TEST_CASE("each ack result has its own feedback") {
  CHECK(signalAfterAck("accepted", ",\"dir\":\"in\",\"display\":\"A. Okafor\"") == Signal::AcceptedIn);
  CHECK(signalAfterAck("accepted", ",\"dir\":\"out\"") == Signal::AcceptedOut);
  CHECK(signalAfterAck("repeat") == Signal::Repeat);
  CHECK(signalAfterAck("duplicate") == Signal::Duplicate);
  CHECK(signalAfterAck("unknown_card") == Signal::UnknownCard);
  CHECK(signalAfterAck("revoked_card") == Signal::RevokedCard);
  CHECK(signalAfterAck("invalid", ",\"reason\":\"bad uid\"") == Signal::Invalid);
  CHECK(signalAfterAck("something_new") == Signal::Invalid);
}

TEST_CASE("the patterns tell good news from bad news") {
  for (Signal good : {Signal::AcceptedIn, Signal::AcceptedOut, Signal::Repeat, Signal::Duplicate}) {
    CHECK(feedbackFor(good).light == Light::Green);
  }
  for (Signal bad : {Signal::UnknownCard, Signal::RevokedCard, Signal::Invalid}) {
    CHECK(feedbackFor(bad).light == Light::Red);
  }
  CHECK(feedbackFor(Signal::AcceptedIn).beep.steps == 1);
  CHECK(feedbackFor(Signal::AcceptedOut).beep.steps == 3);  // two beeps with a gap
  CHECK(feedbackFor(Signal::UnknownCard).beep.totalMs() > feedbackFor(Signal::AcceptedIn).beep.totalMs());
  CHECK(feedbackFor(Signal::Repeat).beep.steps == 0);  // quiet: already counted
}

TEST_CASE("a tap shows 'read' at once, then the answer") {
  Harness h;
  h.online();
  const std::string id = tapAndGetId(h, 1000);
  CHECK(h.indicator.shown == std::vector<Signal>{Signal::CardRead});
  h.reader().onMessage(h.reader().topics().ack, "{\"id\":\"" + id + "\",\"result\":\"accepted\",\"dir\":\"in\"}", 1100);
  CHECK(h.indicator.shown == std::vector<Signal>{Signal::CardRead, Signal::AcceptedIn});
}

TEST_CASE("acks for other ids, repeated acks and garbage are ignored") {
  Harness h;
  h.online();
  const std::string id = tapAndGetId(h, 1000);
  const auto ackTopic = h.reader().topics().ack;
  h.reader().onMessage(ackTopic, R"({"id":"1-999","result":"unknown_card"})", 1100);
  h.reader().onMessage(ackTopic, "not json", 1100);
  h.reader().onMessage(ackTopic, "{\"id\":\"" + id + "\"}", 1100);
  CHECK(h.indicator.shown.size() == 1);
  h.reader().onMessage(ackTopic, "{\"id\":\"" + id + "\",\"result\":\"repeat\"}", 1200);
  h.reader().onMessage(ackTopic, "{\"id\":\"" + id + "\",\"result\":\"unknown_card\"}", 1300);
  CHECK(h.indicator.shown.back() == Signal::Repeat);
  CHECK(h.indicator.shown.size() == 2);
}

TEST_CASE("no ack in time shows 'no answer' once") {
  Harness h;
  h.online();
  tapAndGetId(h, 1000);
  h.reader().tick(1000 + 3999);
  CHECK(h.indicator.shown.back() == Signal::CardRead);
  h.reader().tick(1000 + 4000);
  CHECK(h.indicator.shown.back() == Signal::NoAnswer);
  h.reader().tick(1000 + 9000);
  CHECK(h.indicator.shown.size() == 2);
}

TEST_CASE("a tap without a broker shows 'stored offline'") {
  Harness h;
  h.reader().begin(0);
  h.reader().onCard("04A1B2C3", 1000);
  CHECK(h.indicator.shown == std::vector<Signal>{Signal::CardRead, Signal::StoredOffline});
}

TEST_CASE("the sequence player steps through on/off durations") {
  SequencePlayer player;
  player.start(feedbackFor(Signal::AcceptedOut).beep, 1000);  // 80 on, 100 off, 80 on
  CHECK(player.isOn(1000));
  CHECK(player.isOn(1079));
  CHECK_FALSE(player.isOn(1080));
  CHECK(player.isOn(1180));
  CHECK_FALSE(player.isDone(1259));
  CHECK_FALSE(player.isOn(1260));
  CHECK(player.isDone(1260));
}
