// seq and boot on every reading, kept through buffering, lost answers and
// reboots (issue 17, item 2), and the health report's cadence (item 7).
#include <doctest/doctest.h>

#include <set>

#include "../../esp32_production_ready/board_config.h"
#include "fakes.h"

using namespace fakes;

namespace {

struct Identity {
  uint64_t seq;
  std::string boot;
  bool operator==(const Identity& other) const { return seq == other.seq && boot == other.boot; }
};

Identity identityOf(const json& message) { return {message["seq"].get<uint64_t>(), message["boot"].get<std::string>()}; }

// Every reading the server accepted, live or in a batch, in order.
std::vector<json> everyReading(const FakeServer& server) {
  std::vector<json> readings;
  for (size_t i = 0; i < server.requests.size(); ++i) {
    const HttpRequest& request = server.requests[i];
    const Endpoint endpoint = endpointOf(request);
    if (server.statuses[i] != 200) continue;
    if (endpoint == Endpoint::Telemetry) readings.push_back(json::parse(request.body));
    if (endpoint != Endpoint::Batch) continue;
    const json batch = json::parse(request.body);
    for (const json& record : batch["records"]) readings.push_back(record);
  }
  return readings;
}

}  // namespace

TEST_CASE("every reading, live or buffered, carries seq +1 per reading and the boot id") {
  Rig rig;
  rig.board.nextRandom = 0x9f3a07c2;
  rig.start();
  rig.runFor(25000);
  rig.server.reachable = false;
  rig.runFor(30000);
  rig.server.reachable = true;
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 120000));
  rig.runFor(10000);

  auto readings = everyReading(rig.server);
  REQUIRE(readings.size() >= 7);
  std::sort(readings.begin(), readings.end(), [](const json& a, const json& b) { return a["seq"] < b["seq"]; });
  for (size_t i = 0; i < readings.size(); ++i) {
    CHECK(readings[i]["boot"] == "9f3a07c2");
    CHECK(readings[i]["seq"] == i);
    CHECK(readings[i].contains("ts"));  // the wall clock is known from the start here
  }
}

TEST_CASE("live readings carry ts only once the wall clock is known") {
  Rig rig;
  rig.board.wallClockKnown = false;
  rig.start();
  rig.runFor(10);
  rig.board.wallClockKnown = true;
  rig.runFor(10000);
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  REQUIRE(posts.size() == 2);
  CHECK_FALSE(json::parse(posts[0].body).contains("ts"));
  CHECK(json::parse(posts[1].body)["ts"] == formatIsoUtc(kEpochAtBoot + 10000));
}

TEST_CASE("a lost answer: the reading is re-sent by the batch endpoint with the same seq, boot and ts") {
  Rig rig;
  rig.board.nextRandom = 0x0badcafe;
  rig.start();
  rig.runFor(10);
  // The server stores the next live reading, but its answer never arrives.
  rig.server.answerNext(Endpoint::Telemetry, noAnswer());
  rig.runFor(10000);
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  REQUIRE(posts.size() == 2);
  REQUIRE(rig.client->buffer().size() == 1);
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 30000));
  const auto records = rig.server.storedRecords();
  REQUIRE(records.size() == 1);
  const json live = json::parse(posts[1].body);
  CHECK(identityOf(records[0]) == identityOf(live));
  CHECK(records[0]["ts"] == live["ts"]);
  CHECK(records[0]["boot"] == "0badcafe");
}

TEST_CASE("seq survives a reboot: a new boot id, and the counter goes on past the reserved block") {
  FakeFlash flash;
  ClientSettings settings;
  settings.sequenceBlock = 10;
  uint64_t lastSeq = 0;
  {
    Rig rig(settings, &flash);
    rig.board.nextRandom = 1;
    rig.start();
    rig.runFor(125000);  // 13 readings: seq 0..12, blocks [0,10) and [10,20) reserved
    const auto readings = everyReading(rig.server);
    REQUIRE(readings.size() == 13);
    lastSeq = readings.back()["seq"];
    CHECK(readings.back()["boot"] == "00000001");
  }
  CHECK(flash.writes == 2);  // two reservations for 13 readings: not one write per reading
  Rig rebooted(settings, &flash);
  rebooted.board.nextRandom = 2;
  rebooted.start();
  rebooted.runFor(10);
  const auto readings = everyReading(rebooted.server);
  REQUIRE(readings.size() == 1);
  CHECK(readings[0]["seq"] == 20);  // the unused rest of the block (13..19) is skipped
  CHECK(readings[0]["seq"].get<uint64_t>() > lastSeq);
  CHECK(readings[0]["boot"] == "00000002");
  CHECK(rebooted.sink.contains("boot 00000002, next seq 20"));
}

TEST_CASE("a reading buffered before a reboot goes up after it with its own seq and boot") {
  FakeFlash flash;
  std::vector<json> before;
  {
    Rig rig(ClientSettings(), &flash);
    rig.board.nextRandom = 0xaaaaaaaa;
    rig.server.reachable = false;
    rig.start();
    rig.runFor(25000);  // three readings kept offline
    REQUIRE(rig.client->buffer().size() == 3);
  }
  Rig rebooted(ClientSettings(), &flash);
  rebooted.board.nextRandom = 0xbbbbbbbb;
  rebooted.start();
  CHECK(rebooted.client->buffer().size() == 3);
  REQUIRE(rebooted.runUntil([&] { return rebooted.client->buffer().empty(); }, 30000));
  const auto records = rebooted.server.storedRecords();
  REQUIRE(records.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(records[i]["boot"] == "aaaaaaaa");
    CHECK(records[i]["seq"] == i);
    CHECK(records[i]["ts"] == formatIsoUtc(kEpochAtBoot + i * 10000));
  }
  CHECK(json::parse(rebooted.server.sent(Endpoint::Telemetry).front().body)["boot"] == "bbbbbbbb");
}

TEST_CASE("the health report goes with the first reading after boot, then at most every 60 s") {
  Rig rig;
  rig.board.reset = ResetReason::Watchdog;
  rig.start();
  CHECK(rig.sink.contains("W: started after a watchdog reset"));
  rig.runFor(185000);
  std::vector<uint64_t> reportedAt;
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  const auto times = rig.server.sentAt(Endpoint::Telemetry);
  for (size_t i = 0; i < posts.size(); ++i) {
    const json body = json::parse(posts[i].body);
    if (!body.contains("device")) continue;
    reportedAt.push_back(times[i]);
    CHECK(body["device"]["reset_reason"] == "watchdog");
    CHECK(body["device"]["heap_min"] == 100000);
    CHECK(body["device"]["rssi"] == -61);
  }
  CHECK(reportedAt == std::vector<uint64_t>{0, 60000, 120000, 180000});
  CHECK(rig.client->stats().healthReports == 4);
}

TEST_CASE("a health report that did not get through goes with the next reading") {
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry, error(503, "unavailable"));
  rig.start();
  rig.runFor(10);
  CHECK(rig.client->stats().healthReports == 0);
  REQUIRE(rig.runUntil([&] { return rig.server.sent(Endpoint::Telemetry).size() == 2; }, 20000));
  rig.runFor(10);
  CHECK(json::parse(rig.server.sent(Endpoint::Telemetry)[1].body).contains("device"));
  CHECK(rig.client->stats().healthReports == 1);
}

TEST_CASE("the watchdog is fed every tick and before every request, and outlasts the longest request") {
  Rig rig;
  rig.start();
  rig.runFor(1000);
  CHECK(rig.board.watchdogFeeds >= 100 + rig.server.requests.size());
  // The sketch's settings (board_config.h): 10 s request timeout, 25 s long-polls.
  const ClientSettings settings = board::clientSettings();
  CHECK(worstCaseRequestMs(settings) == 5000 + 10000 + 10000 + 25000);
  CHECK(watchdogTimeoutMs(settings) == 70000);
  CHECK(std::string(settings.firmwareVersion) == board::kFirmwareVersion);
}
