// Refused credentials are never a dead end (issue 17, item 1): a long
// backoff, /health before believing a refusal, and, with a fleet key, new
// credentials from the server (item 8).
#include <doctest/doctest.h>

#include "fakes.h"

using namespace fakes;

namespace {

const std::string kToken = provisionedConfig().deviceToken;

// Indices of the requests to `endpoint` in the order they were sent.
std::vector<size_t> indicesOf(const FakeServer& server, Endpoint endpoint) {
  std::vector<size_t> found;
  for (size_t i = 0; i < server.requests.size(); ++i) {
    if (endpointOf(server.requests[i]) == endpoint) found.push_back(i);
  }
  return found;
}

DeviceConfig fleetConfig() {
  DeviceConfig config;
  config.apiBaseUrl = "http://192.168.1.20:5000";
  config.provisioningKey = "fleet-key-0123456789";
  config.provisioningSecret = "fleet-secret-0123456789";
  return config;
}

void checkNoSecretsLogged(const RecordingSink& sink, const FakeServer& server) {
  for (const std::string& line : sink.lines) {
    CHECK(line.find(server.issuedToken) == std::string::npos);
    CHECK(line.find(server.provisioningSecret) == std::string::npos);
    CHECK(line.find(kToken) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("refused credentials: a long doubling backoff, /health first, and never stuck") {
  Rig rig;
  rig.server.validTokens = {"some-other-token-entirely"};
  rig.start();
  rig.runFor(2 * 3600 * 1000ull);  // two hours of refusals

  CHECK(rig.client->state() == DeviceClient::State::CredentialsRefused);
  const auto health = rig.server.sentAt(Endpoint::Health);
  // Every retry is preceded by /health; with random32() == 0 each wait is the
  // lower half of a step doubling from 60 s to the 1 h cap: 30, 60, 120 … 1800 s.
  const std::vector<uint64_t> expectedGaps = {60000, 120000, 240000, 480000, 960000, 1800000};
  std::vector<uint64_t> retries;  // health checks that came after a refusal (not the periodic one)
  for (size_t i : indicesOf(rig.server, Endpoint::Health)) {
    if (i > 0 && rig.server.statuses[i - 1] == 403) retries.push_back(rig.server.sentAtMs[i]);
  }
  REQUIRE(retries.size() >= expectedGaps.size());
  CHECK(retries[0] >= 30000);
  for (size_t i = 0; i + 1 < retries.size() && i < expectedGaps.size(); ++i) {
    const uint64_t gap = retries[i + 1] - retries[i];
    CHECK(gap >= expectedGaps[i]);
    CHECK(gap < expectedGaps[i] + 1000);  // the wait plus the request that was refused
  }
  // Each /health that said "ok" is followed by one authenticated retry.
  for (size_t i : indicesOf(rig.server, Endpoint::Health)) {
    if (i + 1 < rig.server.requests.size()) CHECK(endpointOf(rig.server.requests[i + 1]) != Endpoint::Health);
  }
  CHECK(rig.server.sentAtMs.back() > 3600 * 1000ull);  // still trying in the second hour
  CHECK(rig.client->stats().credentialRefusals == retries.size() + 1);
  CHECK(health.size() >= retries.size());

  // The owner fixes the token on the server's side: no cable, no reboot.
  rig.server.validTokens.push_back(kToken);
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running && rig.client->buffer().empty(); },
                       3600 * 1000ull));
  CHECK(rig.sink.contains("credentials accepted again"));
  CHECK(rig.client->buffer().overflowDropped() > 0);  // two hours are more than 120 readings
  checkNoSecretsLogged(rig.sink, rig.server);
}

TEST_CASE("a proxy's 404 during a deploy is not believed while /health is not up") {
  Rig rig;
  rig.start();
  rig.runFor(10);
  rig.server.answerNext(Endpoint::Telemetry, error(404, "not_found"));
  for (int i = 0; i < 3; ++i) rig.server.answerNext(Endpoint::Health, answer(502, {{"html", "Bad Gateway"}}));
  rig.runFor(10000);
  REQUIRE(rig.client->state() == DeviceClient::State::CredentialsRefused);
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running; }, 120000));
  // Three 502s on /health, then "ok", then the retry succeeded: one refusal in all.
  CHECK(rig.server.sent(Endpoint::Health).size() >= 4);
  CHECK(rig.sink.contains("the server is not up"));
  CHECK(rig.client->stats().credentialRefusals == 1);
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 60000));
  CHECK(rig.sink.contains("credentials accepted again after 1 refusals"));
  CHECK(rig.server.sent(Endpoint::Provision).empty());
}

TEST_CASE("a device with a fleet key provisions itself on first boot and stores its credentials") {
  ClientSettings settings;
  settings.deviceName = "greenhouse";
  Rig rig(settings);
  DeviceConfig config = fleetConfig();
  MemoryStore store;
  SavedConfig saved(config, store);
  rig.client->setCredentialSink(&saved);
  rig.start(config);
  CHECK(rig.client->state() == DeviceClient::State::Provisioning);
  rig.runFor(10);  // the first reading is taken (and kept) before the provisioning request
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running; }, 1000));

  const auto requests = rig.server.sent(Endpoint::Provision);
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].url == "http://192.168.1.20:5000/devices/provision");
  CHECK(json::parse(requests[0].body) == json({{"provisioning_key", "fleet-key-0123456789"},
                                               {"provisioning_secret", "fleet-secret-0123456789"},
                                               {"hardware_id", "a4cf12345678"},
                                               {"name", "greenhouse"}}));
  CHECK(store.saved.deviceId == rig.server.issuedDeviceId);
  CHECK(store.saved.deviceToken == rig.server.issuedToken);
  CHECK(config.deviceToken == rig.server.issuedToken);  // the console's copy too: a later `set` keeps it

  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 5000));
  rig.runFor(10000);
  const auto posts = rig.server.sent(Endpoint::Telemetry);
  REQUIRE(!posts.empty());
  CHECK(posts.back().url == "http://192.168.1.20:5000/devices/fedcba9876543210fedcba98/telemetry");
  CHECK(json::parse(posts.back().body)["device_token"] == rig.server.issuedToken);
  CHECK(rig.sink.contains("provisioned by the server as device fedcba9876543210fedcba98"));
  checkNoSecretsLogged(rig.sink, rig.server);
}

TEST_CASE("a refused provisioning key waits on the long backoff until it is corrected") {
  Rig rig;
  DeviceConfig config = fleetConfig();
  config.provisioningSecret = "wrong-secret-0123456789";
  rig.start(config);
  rig.runFor(29000);
  CHECK(rig.server.sent(Endpoint::Provision).size() == 1);
  CHECK(rig.client->state() == DeviceClient::State::Provisioning);
  CHECK(rig.sink.contains("provisioning refused (HTTP 401 invalid_provisioning_key"));
  rig.runFor(2000);  // the 30 s wait is over: asks again (still wrong)
  CHECK(rig.server.sent(Endpoint::Provision).size() == 2);

  rig.client->configure(fleetConfig());
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running; }, 100));
  checkNoSecretsLogged(rig.sink, rig.server);
}

TEST_CASE("provisioning answered 429 waits Retry-After; 503 backs off briefly") {
  Rig rig;
  HttpResponse limited = error(429, "rate_limited");
  limited.retryAfter = "20";
  rig.server.answerNext(Endpoint::Provision, limited);
  rig.server.answerNext(Endpoint::Provision, error(503, "unavailable"));
  rig.start(fleetConfig());
  rig.runFor(19990);
  CHECK(rig.server.sent(Endpoint::Provision).size() == 1);
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running; }, 3000));
  CHECK(rig.server.sent(Endpoint::Provision).size() == 3);
}

TEST_CASE("a token refused again and again by a healthy server is replaced through the fleet key") {
  Rig rig;
  DeviceConfig config = provisionedConfig();
  config.provisioningKey = "fleet-key-0123456789";
  config.provisioningSecret = "fleet-secret-0123456789";
  MemoryStore store;
  SavedConfig saved(config, store);
  rig.client->setCredentialSink(&saved);
  rig.server.validTokens = {rig.server.issuedToken};  // the old token was revoked
  rig.start(config);
  REQUIRE(rig.runUntil([&] { return !rig.server.sent(Endpoint::Provision).empty(); }, 3600 * 1000ull));
  CHECK(rig.client->stats().credentialRefusals == 3);  // refusalsBeforeReprovisioning
  REQUIRE(rig.runUntil([&] { return rig.client->state() == DeviceClient::State::Running && rig.client->buffer().empty(); },
                       60000));
  CHECK(store.saved.deviceToken == rig.server.issuedToken);
  CHECK(rig.sink.contains("credentials refused 3 times by a healthy server: provisioning again"));
  checkNoSecretsLogged(rig.sink, rig.server);
}
