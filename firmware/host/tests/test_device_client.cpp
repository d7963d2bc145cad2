// The client as a device owner sees it: what reaches the server and when,
// what the LEDs do, what happens to readings when the server misbehaves.
#include <doctest/doctest.h>

#include <set>

#include "fakes.h"

using namespace fakes;

namespace {

const std::string kToken = provisionedConfig().deviceToken;

json dataOf(const HttpRequest& request) { return json::parse(request.body)["data"]; }

// The `ts` of every buffered reading the server accepted.
std::vector<std::string> storedTimestamps(const FakeServer& server) {
  std::vector<std::string> timestamps;
  for (const json& record : server.storedRecords()) timestamps.push_back(record["ts"]);
  return timestamps;
}

// The delays in "backing off N ms" log lines, in order.
std::vector<uint32_t> loggedBackoffs(const RecordingSink& sink) {
  static const std::string marker = "backing off ";
  std::vector<uint32_t> delays;
  for (const std::string& line : sink.lines) {
    const size_t at = line.find(marker);
    if (at != std::string::npos) delays.push_back(static_cast<uint32_t>(std::stoul(line.substr(at + marker.size()))));
  }
  return delays;
}

HttpResponse rateLimited(const std::string& retryAfter) {
  HttpResponse response = error(429, "rate_limited");
  response.retryAfter = retryAfter;
  return response;
}

}  // namespace

TEST_CASE("every telemetry interval a reading with the LED states and sensors goes to the V2 endpoint") {
  Rig rig;
  rig.start();
  rig.runFor(35000);
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  REQUIRE(posts.size() == 4);
  CHECK(rig.server.sentAt(Endpoint::Telemetry) == std::vector<uint64_t>{0, 10000, 20000, 30000});
  CHECK(posts[0].url == "http://192.168.1.20:5000/devices/0123456789abcdef01234567/telemetry");
  CHECK(posts[0].method == HttpMethod::Post);
  const json body = json::parse(posts[0].body);
  CHECK(body["device_token"] == kToken);
  CHECK(body["data"] == json::parse(R"({"v0":0,"v1":0,"temperature":21.5})"));
  CHECK(rig.client->stats().readingsSent == 4);
  CHECK(rig.sink.contains("I: telemetry sent (200) seq 0: v0=0 v1=0 temperature=21.5"));
}

TEST_CASE("the desired state in a telemetry response is applied to the LEDs and reported at once") {
  Rig rig;
  rig.server.setDesired("v0", 1);
  rig.start();
  CHECK_FALSE(rig.board.level(2));
  rig.runFor(100);
  CHECK(rig.board.level(2));
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  REQUIRE(posts.size() == 2);  // the first reading, then the applied value without waiting 10 s
  CHECK(dataOf(posts[0])["v0"] == 0);
  CHECK(dataOf(posts[1])["v0"] == 1);
  CHECK(rig.client->stats().pinChanges == 1);
  CHECK(rig.sink.contains("applied v0=1 (gpio 2) from telemetry"));
}

TEST_CASE("an active-low LED is lit by driving its pin LOW") {
  Rig rig;  // v1 is bound active-low on gpio 4
  rig.start();
  CHECK(rig.board.level(4));  // off
  rig.server.setDesired("v1", 1);
  rig.runFor(20000);
  CHECK_FALSE(rig.board.level(4));
  CHECK(rig.pins.at(1).on);
}

TEST_CASE("the state poll sends the token as a bearer header and the ETag it has") {
  ClientSettings settings;
  settings.longPollMaxSeconds = 0;  // plain polling
  Rig rig(settings);
  rig.start();
  rig.runFor(12000);
  const auto polls = rig.server.sent(Endpoint::Latest);
  REQUIRE(polls.size() >= 2);
  CHECK(polls[0].url == "http://192.168.1.20:5000/telemetry/latest");
  CHECK(polls[0].bearerToken == kToken);
  CHECK(polls[0].ifNoneMatch.empty());
  CHECK_FALSE(polls[1].ifNoneMatch.empty());
  CHECK(rig.server.sentAt(Endpoint::Latest)[1] - rig.server.sentAt(Endpoint::Latest)[0] >= 5000);
}

TEST_CASE("a toggle during a long-poll reaches the LED at once and is reported back") {
  Rig rig;
  rig.server.changeAt(12500, "v0", 1);
  rig.start();
  REQUIRE(rig.runUntil([&] { return rig.board.level(2); }, 20000));
  CHECK(rig.board.now <= 12510);  // the held poll returned when the change happened
  CHECK(rig.sink.contains("applied v0=1 (gpio 2) from poll"));
  rig.runFor(20);
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  CHECK(rig.server.sentAt(Endpoint::Telemetry).back() < 12600);  // not at the 20 s reading
  CHECK(dataOf(posts.back())["v0"] == 1);
}

TEST_CASE("long-polls wait for changes but always end before the next reading is due") {
  Rig rig;
  rig.start();
  rig.runFor(60000);
  CHECK(rig.sink.contains("long-poll: the server holds state requests"));
  // The server held the polls (the fake moves the clock by the wait), and
  // telemetry still left exactly on its 10 s rhythm.
  CHECK(rig.server.sentAt(Endpoint::Telemetry) ==
        std::vector<uint64_t>{0, 10000, 20000, 30000, 40000, 50000});
  const auto polls = rig.server.sent(Endpoint::Latest);
  const auto times = rig.server.sentAt(Endpoint::Latest);
  int held = 0;
  for (size_t i = 0; i < polls.size(); ++i) {
    const size_t wait = polls[i].url.find("wait=");
    if (wait == std::string::npos) continue;
    ++held;
    const uint64_t waitMs = std::stoul(polls[i].url.substr(wait + 5)) * 1000;
    CHECK(waitMs > 0);
    CHECK(polls[i].timeoutMs > waitMs);  // the HTTP timeout is above the wait
    CHECK((times[i] + waitMs) / 10000 == times[i] / 10000);  // ends within the same telemetry period
  }
  CHECK(held >= 5);
}

TEST_CASE("a server that answers long-polls at once is polled every poll interval instead") {
  Rig rig;
  rig.server.holdsLongPolls = false;
  rig.start();
  rig.runFor(40000);
  CHECK(rig.sink.contains("long-poll: not supported by the server; polling every 5000 ms"));
  const auto polls = rig.server.sent(Endpoint::Latest);
  const auto times = rig.server.sentAt(Endpoint::Latest);
  size_t firstPlain = 0;
  while (firstPlain < polls.size() && polls[firstPlain].url.find("wait=") == std::string::npos) ++firstPlain;
  while (firstPlain < polls.size() && polls[firstPlain].url.find("wait=") != std::string::npos) ++firstPlain;
  REQUIRE(polls.size() - firstPlain >= 4);
  for (size_t i = firstPlain; i < polls.size(); ++i) {
    CHECK(polls[i].url.find("wait=") == std::string::npos);
    CHECK(times[i] - times[i - 1] >= 5000);
  }
}

TEST_CASE("a reading the server refuses with 400 is dropped, and the device carries on") {
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry, error(400, "bad_request"));
  rig.start();
  rig.runFor(10);
  CHECK(rig.client->stats().readingsDropped == 1);
  CHECK(rig.client->buffer().empty());
  CHECK(rig.sink.contains("telemetry: refused (HTTP 400 bad_request: test says bad_request)"));
  rig.runFor(10000);
  CHECK(rig.server.sent(Endpoint::Telemetry).size() == 2);
  CHECK(rig.client->stats().readingsSent == 1);
  CHECK(rig.client->state() == DeviceClient::State::Running);
}

TEST_CASE("a security rule denial drops that reading only") {
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry,
                        answer(403, {{"error", "rule_denied"}, {"rule", "temperature_range"}, {"message", "no"}}));
  rig.start();
  rig.runFor(10010);
  CHECK(rig.client->state() == DeviceClient::State::Running);
  CHECK(rig.client->stats().readingsDropped == 1);
  CHECK(rig.client->stats().readingsSent == 1);
  CHECK(rig.sink.contains("rule temperature_range"));
}

TEST_CASE("refused credentials keep measuring, and console re-provisioning applies at once") {
  HttpResponse refusal;
  SUBCASE("403 invalid token") { refusal = error(403, "invalid_token"); }
  SUBCASE("404 no such device") { refusal = error(404, "not_found"); }
  SUBCASE("401") { refusal = error(401, "unauthorized"); }
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry, refusal);
  rig.start();
  rig.runFor(10);
  CHECK(rig.client->state() == DeviceClient::State::CredentialsRefused);
  CHECK(rig.sink.contains("credentials refused"));

  const size_t requestsBefore = rig.server.requests.size();
  rig.runFor(25000);  // inside the first long wait (30 s with random 0)
  CHECK(rig.server.requests.size() == requestsBefore);
  CHECK(rig.client->buffer().size() == 3);  // the refused reading and two more: measuring goes on

  rig.client->configure(provisionedConfig());
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 5000));
  CHECK(storedTimestamps(rig.server).size() == 3);
}

TEST_CASE("429 holds every request for Retry-After and doubles the intervals") {
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry, rateLimited("30"));
  rig.start();
  rig.runFor(29990);
  CHECK(rig.server.requests.size() == 1);
  CHECK(rig.sink.contains("rate limited (HTTP 429 rate_limited: test says rate_limited); waiting 30000 ms, intervals now x2"));
  rig.runFor(40000);
  CHECK(rig.server.sentAt(Endpoint::Telemetry) == std::vector<uint64_t>{0, 30000, 50000});
  CHECK(storedTimestamps(rig.server).size() == 2);  // the limited reading and the one taken while waiting
  CHECK(rig.client->stats().rateLimited == 1);
}

TEST_CASE("429 without Retry-After waits a backoff delay instead") {
  Rig rig;
  rig.server.answerNext(Endpoint::Telemetry, rateLimited(""));
  rig.start();
  rig.runFor(490);
  CHECK(rig.server.requests.size() == 1);
  rig.runFor(20);
  CHECK(rig.server.requests.size() == 2);
}

TEST_CASE("while the server is down the device backs off exponentially, keeps readings, and uploads them later") {
  ClientSettings settings;
  settings.backoffBaseMs = 1000;
  settings.backoffCapMs = 8000;
  settings.batchSize = 4;
  Rig rig(settings);
  rig.start();
  rig.runFor(10);
  rig.server.reachable = false;
  const size_t firstFailure = rig.server.requests.size();
  rig.runFor(60000);

  // random32() is 0, so each wait is the lower end of its step: half of 1, 2, 4, 8, 8 … s.
  const std::vector<uint32_t> delays = loggedBackoffs(rig.sink);
  REQUIRE(delays.size() >= 6);
  CHECK(std::vector<uint32_t>(delays.begin(), delays.begin() + 6) ==
        std::vector<uint32_t>{500, 1000, 2000, 4000, 4000, 4000});
  // No request went out inside a backoff wait. (Health checks are outside
  // backoff: they never delay telemetry.)
  std::vector<uint64_t> attempts;
  for (size_t i = firstFailure; i < rig.server.requests.size(); ++i) {
    if (endpointOf(rig.server.requests[i]) != Endpoint::Health) attempts.push_back(rig.server.sentAtMs[i]);
  }
  REQUIRE(attempts.size() == delays.size());
  for (size_t i = 0; i + 1 < attempts.size(); ++i) CHECK(attempts[i + 1] - attempts[i] >= delays[i]);
  CHECK(rig.client->buffer().size() == 6);
  CHECK(rig.client->stats().retries == delays.size());

  rig.server.reachable = true;
  const size_t recovered = rig.server.requests.size();
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 20000));
  size_t uploads = 0;
  for (size_t i = recovered; i < rig.server.requests.size(); ++i) uploads += endpointOf(rig.server.requests[i]) == Endpoint::Batch;
  CHECK(uploads == 2);  // 6 readings in chunks of 4
  std::vector<std::string> expected;
  for (uint64_t t = 10000; t <= 60000; t += 10000) expected.push_back(formatIsoUtc(kEpochAtBoot + t));
  CHECK(storedTimestamps(rig.server) == expected);
  CHECK(rig.client->stats().readingsDropped == 0);
}

TEST_CASE("a batch upload that failed is retried with the same timestamps") {
  Rig rig;
  rig.start();
  rig.server.reachable = false;
  rig.runFor(25000);
  rig.server.reachable = true;
  rig.server.answerNext(Endpoint::Batch, error(503, "unavailable"));
  const size_t recovered = rig.server.requests.size();
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 120000));
  std::vector<json> uploads;
  for (size_t i = recovered; i < rig.server.requests.size(); ++i) {
    if (endpointOf(rig.server.requests[i]) == Endpoint::Batch) uploads.push_back(json::parse(rig.server.requests[i].body));
  }
  REQUIRE(uploads.size() == 2);
  CHECK(rig.server.statuses[recovered] != 200);
  // The retry starts with the same records, same ts (plus what was measured meanwhile).
  const json& failed = uploads[0]["records"];
  const json& retried = uploads[1]["records"];
  REQUIRE(retried.size() >= failed.size());
  for (size_t i = 0; i < failed.size(); ++i) CHECK(retried[i] == failed[i]);
}

TEST_CASE("when the offline buffer is full the oldest readings are dropped and counted") {
  ClientSettings settings;
  settings.bufferCapacity = 3;
  settings.backoffCapMs = 1000;  // back within a second of the server
  Rig rig(settings);
  rig.server.reachable = false;
  rig.start();
  rig.runFor(45000);  // readings at 0, 10, 20, 30, 40 s
  CHECK(rig.client->buffer().size() == 3);
  CHECK(rig.client->buffer().overflowDropped() == 2);
  CHECK(rig.sink.contains("offline buffer full: dropped the oldest reading (2 dropped so far)"));
  rig.server.reachable = true;
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 120000));
  const auto timestamps = storedTimestamps(rig.server);
  REQUIRE(timestamps.size() == 3);
  CHECK(timestamps.front() == formatIsoUtc(kEpochAtBoot + 20000));
}

TEST_CASE("readings taken before NTP get their time counted back once the clock is known") {
  Rig rig;
  rig.board.wallClockKnown = false;
  rig.server.reachable = false;
  rig.start();
  rig.runFor(15000);  // readings at 0 and 10 s, no wall clock
  CHECK(rig.sink.contains("kept offline: ts=pending"));
  rig.server.reachable = true;
  rig.runFor(30000);
  CHECK(rig.server.sent(Endpoint::Batch).empty());  // nothing to put in `ts` yet
  const size_t waiting = rig.client->buffer().size();
  REQUIRE(waiting >= 2);
  rig.board.wallClockKnown = true;
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 60000));
  std::vector<std::string> expected;
  for (size_t i = 0; i < waiting; ++i) expected.push_back(formatIsoUtc(kEpochAtBoot + i * 10000));
  CHECK(storedTimestamps(rig.server) == expected);
}

TEST_CASE("a buffered chunk the server refuses is dropped and counted") {
  Rig rig;
  rig.server.reachable = false;
  rig.start();
  rig.runFor(15000);
  rig.server.reachable = true;
  rig.server.answerNext(Endpoint::Batch, error(400, "bad_request"));
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 60000));
  CHECK(rig.client->stats().readingsDropped == 2);
  CHECK(rig.sink.contains("dropped 2 buffered readings the server refused"));
}

TEST_CASE("with the network down nothing is sent and readings wait in the buffer") {
  Rig rig;
  rig.start();
  rig.client->setNetworkUp(false);
  rig.runFor(30000);
  CHECK(rig.server.requests.empty());
  CHECK(rig.client->buffer().size() == 3);
  rig.client->setNetworkUp(true);
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 5000));
}

TEST_CASE("an unprovisioned device sends nothing") {
  Rig rig;
  DeviceConfig config = provisionedConfig();
  config.deviceToken.clear();
  rig.start(config);
  rig.runFor(30000);
  CHECK(rig.server.requests.empty());
  CHECK(rig.client->state() == DeviceClient::State::NotProvisioned);
  CHECK(rig.sink.contains("not provisioned"));
}

TEST_CASE("plain HTTP to a public host is refused; https needs and gets the root CA") {
  DeviceConfig config = provisionedConfig();
  SUBCASE("public http") {
    Rig rig;
    config.apiBaseUrl = "http://iot.example.com";
    rig.start(config);
    CHECK(rig.client->state() == DeviceClient::State::NotProvisioned);
    CHECK(rig.sink.contains("refusing plain HTTP to a public host"));
  }
  SUBCASE("https without a CA") {
    Rig rig;
    config.apiBaseUrl = "https://iot.example.com";
    rig.start(config);
    CHECK(rig.client->state() == DeviceClient::State::NotProvisioned);
    CHECK(rig.sink.contains("https needs a root CA"));
  }
  SUBCASE("https with the built-in CA") {
    ClientSettings settings;
    settings.defaultRootCaPem = "BUILT-IN PEM";
    Rig rig(settings);
    config.apiBaseUrl = "https://iot.example.com";
    rig.start(config);
    CHECK(rig.client->state() == DeviceClient::State::Running);
    CHECK(rig.server.rootCa == "BUILT-IN PEM");
    config.rootCaPem = "PROVISIONED PEM";
    rig.client->configure(config);
    CHECK(rig.server.rootCa == "PROVISIONED PEM");
  }
  SUBCASE("development http warns") {
    Rig rig;
    rig.start(config);
    CHECK(rig.client->state() == DeviceClient::State::Running);
    CHECK(rig.sink.contains("W: plain HTTP to http://192.168.1.20:5000: for development only"));
  }
}

TEST_CASE("health is checked every minute without credentials and never holds up telemetry") {
  Rig rig;
  rig.server.answerNext(Endpoint::Health, answer(503, {{"status", "degraded"}, {"database", "down"}}));
  rig.start();
  rig.runFor(125000);
  const auto checks = rig.server.sent(Endpoint::Health);
  REQUIRE(checks.size() == 3);
  CHECK(checks[0].bearerToken.empty());
  CHECK(checks[0].url == "http://192.168.1.20:5000/health");
  CHECK(rig.sink.contains("health: degraded, database down (HTTP 503)"));
  CHECK(rig.sink.contains("health: ok, database ok (HTTP 200)"));
  CHECK(rig.server.sent(Endpoint::Telemetry).size() == 13);
  CHECK(rig.client->stats().retries == 0);
}
