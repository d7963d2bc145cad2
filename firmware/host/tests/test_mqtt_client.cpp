// The client over MQTT as a device owner sees it: what reaches the broker
// and when, what the LEDs do, and that no reading is lost when the
// connection, its acknowledgements or the platform's receipts are.
#include <doctest/doctest.h>

#include <set>

#include "fakes.h"

using namespace fakes;

namespace {

const std::string kDevice = provisionedConfig().deviceId;
const std::string kTopic = "devices/" + kDevice + "/";

struct MqttRig : Ticking<MqttRig> {
  explicit MqttRig(ClientSettings s = ClientSettings(), const std::string& brokerUrl = "mqtt://192.168.1.20:1883")
      : settings(s) {
    pins.bind("v0", 2);
    pins.bind("v1", 4);
    client.reset(new MqttDeviceClient(settings, brokerUrl, board, broker, reader, writer, pins, sensor, log));
  }

  void start(const DeviceConfig& config = provisionedConfig()) { client->begin(config); }

  ClientSettings settings;
  FakeBoard board;
  FakeBroker broker{board};
  NlohmannJsonReader reader;
  NlohmannJsonWriter writer;
  PinMap pins;
  FixedSensor sensor;
  RecordingSink sink;
  Log log{sink};
  std::unique_ptr<MqttDeviceClient> client;
};

json bodyOf(const FakeBroker::Publish& publish) { return json::parse(publish.payload); }

std::vector<uint64_t> seqsOf(const FakeBroker::Publish& batch) {
  const json body = bodyOf(batch);
  std::vector<uint64_t> seqs;
  for (const json& record : body["records"]) seqs.push_back(record["seq"]);
  return seqs;
}

std::vector<uint32_t> loggedBackoffs(const RecordingSink& sink) {
  static const std::string marker = "backing off ";
  std::vector<uint32_t> delays;
  for (const std::string& line : sink.lines) {
    const size_t at = line.find(marker);
    if (at != std::string::npos) delays.push_back(static_cast<uint32_t>(std::stoul(line.substr(at + marker.size()))));
  }
  return delays;
}

}  // namespace

TEST_CASE("mqtt: connects as the device with a retained offline will, subscribes, says online, publishes QoS 1") {
  MqttRig rig;
  rig.start();
  rig.runFor(100);
  REQUIRE(rig.broker.connects.size() == 1);
  const MqttConnectOptions& options = rig.broker.connects[0];
  CHECK(options.host == "192.168.1.20");
  CHECK(options.port == 1883);
  CHECK_FALSE(options.tls);
  CHECK(options.clientId == kDevice);
  CHECK(options.username == kDevice);
  CHECK(options.password == provisionedConfig().deviceToken);
  CHECK(options.willTopic == kTopic + "status");
  CHECK(options.willPayload == "offline");
  CHECK(rig.broker.subscriptions ==
        std::vector<std::string>{kTopic + "state", kTopic + "stored", kTopic + "errors", kTopic + "ota"});
  const auto status = rig.broker.on("status");
  REQUIRE(status.size() == 1);
  CHECK(status[0].payload == "online");
  CHECK(status[0].retain);

  const auto telemetry = rig.broker.on("telemetry");
  REQUIRE(telemetry.size() == 1);
  CHECK(telemetry[0].qos == 1);
  CHECK_FALSE(telemetry[0].retain);
  const json body = bodyOf(telemetry[0]);
  CHECK(body["seq"] == 0);
  CHECK(body["boot"] == formatBootId(rig.client->bootId()));
  CHECK(body["ts"] == "2026-11-27T17:10:00.010Z");
  CHECK(body["data"] == json::parse(R"({"v0":0,"v1":0,"temperature":21.5})"));
  CHECK(body["device"]["transport"] == "mqtt");
  CHECK_FALSE(body.contains("device_token"));  // the broker authenticated the device

  rig.runFor(30000);
  CHECK(rig.broker.on("telemetry").size() == 4);
  CHECK_FALSE(bodyOf(rig.broker.on("telemetry")[1]).contains("device"));  // the health report: at most every 60 s
  CHECK(rig.client->stats().readingsSent == 4);
  CHECK(rig.sink.contains("I: telemetry stored seq 0: v0=0 v1=0 temperature=21.5"));
  CHECK(rig.client->buffer().empty());
}

TEST_CASE("mqtt: a reading counts only once its receipt arrived; a connection lost before sends it again in a batch") {
  MqttRig rig;
  rig.broker.holdAcks = true;
  rig.start();
  rig.runFor(100);
  REQUIRE(rig.broker.on("telemetry").size() == 1);
  const json live = bodyOf(rig.broker.on("telemetry")[0]);
  CHECK(rig.client->stats().readingsSent == 0);

  rig.broker.drop();
  rig.broker.up = false;
  rig.runFor(100);
  CHECK(rig.client->buffer().size() == 1);  // not acknowledged: kept
  rig.runFor(10000);
  CHECK(rig.client->buffer().size() == 2);

  rig.broker.up = true;
  rig.broker.holdAcks = false;
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }));
  const auto batches = rig.broker.on("telemetry/batch");
  REQUIRE(batches.size() == 1);
  const json records = bodyOf(batches[0])["records"];
  REQUIRE(records.size() == 2);
  // The same reading, recognisable by the server: same seq, boot and ts.
  CHECK(records[0]["seq"] == live["seq"]);
  CHECK(records[0]["boot"] == live["boot"]);
  CHECK(records[0]["ts"] == live["ts"]);
  CHECK(records[0]["data"] == live["data"]);
  CHECK(rig.client->stats().readingsSent == 2);
}

TEST_CASE("mqtt: buffered readings leave the buffer only on the batch's receipt") {
  MqttRig rig;
  rig.broker.up = false;
  rig.start();
  rig.runFor(35000);
  REQUIRE(rig.client->buffer().size() == 4);

  rig.broker.up = true;
  rig.broker.holdAcks = true;
  REQUIRE(rig.runUntil([&] { return rig.broker.on("telemetry/batch").size() == 1; }));
  const size_t buffered = rig.client->buffer().size();
  rig.runFor(100);
  CHECK(rig.client->buffer().size() == buffered);  // published, no receipt yet: still buffered
  rig.broker.drop();  // the receipt is lost with the connection
  rig.broker.holdAcks = false;
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }));
  const auto batches = rig.broker.on("telemetry/batch");
  REQUIRE(batches.size() == 2);
  const std::vector<uint64_t> first = seqsOf(batches[0]);
  const std::vector<uint64_t> again = seqsOf(batches[1]);
  CHECK(first.size() == buffered);
  CHECK(std::vector<uint64_t>(again.begin(), again.begin() + first.size()) == first);  // the same readings again
  CHECK(rig.client->stats().readingsSent == again.size());
}

TEST_CASE("mqtt: the retained state drives the LEDs and the new value is reported at once") {
  MqttRig rig;
  rig.broker.retained[kTopic + "state"] = R"({"data": {"v0": 1, "v1": 0}, "timestamp": "2026-11-27T17:09:00.000Z"})";
  rig.start();
  rig.runFor(100);
  CHECK(rig.board.level(2));
  CHECK(rig.sink.contains("applied v0=1 (gpio 2) from mqtt"));
  REQUIRE(rig.broker.on("telemetry").size() == 1);
  CHECK(bodyOf(rig.broker.on("telemetry")[0])["data"]["v0"] == 1);

  rig.runFor(4900);
  rig.broker.deliver(kTopic + "state", R"({"data": {"v0": false, "v1": 0}, "timestamp": "2026-11-27T17:10:05.000Z"})");
  rig.runFor(20);
  CHECK_FALSE(rig.board.level(2));
  const auto telemetry = rig.broker.on("telemetry");
  REQUIRE(telemetry.size() == 2);  // at 5 s, not at the 10 s interval
  CHECK(bodyOf(telemetry[1])["data"]["v0"] == 0);
  CHECK(rig.client->stats().pinChanges == 2);
}

TEST_CASE("mqtt: while the broker is away, connecting backs off without blocking and readings are buffered") {
  MqttRig rig;
  rig.broker.up = false;
  rig.start();
  rig.runFor(20000);
  // Each wait in the upper half of a step doubling from 1 s (the random point is 0 here).
  CHECK(loggedBackoffs(rig.sink) == std::vector<uint32_t>{500, 1000, 2000, 4000, 8000, 16000});
  const auto& at = rig.broker.connectsAtMs;
  REQUIRE(at.size() == 6);
  for (size_t i = 1; i < at.size(); ++i) CHECK(at[i] - at[i - 1] >= loggedBackoffs(rig.sink)[i - 1]);
  CHECK(rig.client->buffer().size() == 2);
  CHECK(rig.sink.contains("broker unavailable (Connection refused)"));

  rig.broker.up = true;
  REQUIRE(rig.runUntil([&] { return rig.client->online(); }, 20000));
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 1000));
  CHECK(rig.broker.on("telemetry").empty());  // all of them went up as a batch
  CHECK(rig.client->stats().readingsSent == rig.broker.receivedSeqs().size());
}

TEST_CASE("mqtt: refused credentials wait on the long backoff, are tried again, and a new token applies at once") {
  ClientSettings settings;
  settings.credentialRetryBaseMs = 60000;
  MqttRig rig(settings);
  rig.broker.authorized = false;
  rig.start();
  rig.runFor(100);
  CHECK(rig.client->state() == MqttDeviceClient::State::CredentialsRefused);
  CHECK(rig.sink.contains("E: MQTT: credentials refused (not authorised); trying again in 30 s"));
  CHECK(rig.client->stats().credentialRefusals == 1);
  rig.runFor(29800);
  CHECK(rig.broker.connects.size() == 1);  // no hammering the broker
  CHECK(rig.client->buffer().size() == 3);  // still measuring
  rig.runFor(300);
  CHECK(rig.broker.connects.size() == 2);  // not a dead end

  rig.broker.authorized = true;
  DeviceConfig fixed = provisionedConfig();
  fixed.deviceToken = "tok_the_right_one_0123456789abcdefghijklmnop";
  rig.client->configure(fixed);
  rig.runFor(100);
  CHECK(rig.client->online());
  CHECK(rig.broker.connects.back().password == fixed.deviceToken);
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 1000));
}

TEST_CASE("mqtt: a PUBACK without a receipt keeps the reading; it goes up again in a batch after the timeout") {
  MqttRig rig;
  rig.broker.storing = false;  // the broker lost the platform's subscription (a broker restart)
  rig.start();
  rig.runFor(100);
  REQUIRE(rig.broker.on("telemetry").size() == 1);
  CHECK(rig.client->stats().readingsSent == 0);  // the broker has it; nobody stored it
  rig.runFor(29000);
  CHECK(rig.broker.on("telemetry/batch").empty());
  CHECK(rig.client->buffer().empty());  // still waiting in RAM

  rig.broker.storing = true;  // the platform subscribed again
  rig.runFor(1000);
  REQUIRE(rig.broker.on("telemetry/batch").size() == 1);
  CHECK(seqsOf(rig.broker.on("telemetry/batch")[0]) == std::vector<uint64_t>{0});
  CHECK(rig.sink.contains("W: telemetry: no receipt for seq 0 in 30 s; sending it again from the buffer"));
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 1000));
  rig.runFor(40000);  // seq 1 and 2 (not stored either) follow the same way
  std::vector<uint64_t> stored = rig.broker.stored();
  std::sort(stored.begin(), stored.end());
  CHECK(stored == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(rig.client->stats().readingsSent == 8);
  CHECK(rig.client->stats().readingsDropped == 0);
}

TEST_CASE("mqtt: a late receipt for a reading already sent again in a batch counts it once") {
  MqttRig rig;
  rig.broker.holdAcks = true;  // receipts come late
  rig.start();
  REQUIRE(rig.runUntil([&] { return rig.broker.on("telemetry/batch").size() == 1; }, 31000));
  CHECK(seqsOf(rig.broker.on("telemetry/batch")[0]) == std::vector<uint64_t>{0});
  rig.broker.holdAcks = false;
  rig.broker.releaseAcks();  // the live receipt for seq 0, those of seq 1 to 3, then the batch's
  rig.runFor(100);
  CHECK(rig.client->buffer().empty());
  rig.runFor(60000);
  CHECK(rig.broker.on("telemetry/batch").size() == 1);  // nothing sent a third time
  CHECK(rig.client->stats().readingsSent == 10);
  CHECK(rig.broker.stored().size() == 10);
}

TEST_CASE("mqtt: a rate_limited refusal keeps its readings, waits retry_after and sends them again") {
  MqttRig rig;
  rig.broker.storing = false;
  rig.start();
  rig.runFor(100);
  const std::string boot = formatBootId(rig.client->bootId());
  rig.broker.deliver(kTopic + "errors", R"({"error": "rate_limited", "message": "slow down", "retry_after": 30, "readings": [[")" +
                                            boot + R"(", 0]]})");
  rig.runFor(20);
  CHECK(rig.client->stats().rateLimited == 1);
  CHECK(rig.sink.contains("telemetry: rate limited (rate_limited: slow down); waiting 30000 ms, intervals now x2"));
  CHECK(rig.client->buffer().size() == 1);  // kept
  rig.broker.storing = true;
  rig.runFor(29800);
  CHECK(rig.broker.on("telemetry").size() == 1);  // nothing published while told to wait
  CHECK(rig.broker.on("telemetry/batch").empty());
  CHECK(rig.client->buffer().size() == 2);  // and the reading at 20 s (intervals doubled)
  REQUIRE(rig.runUntil([&] { return rig.client->buffer().empty(); }, 1000));
  CHECK(seqsOf(rig.broker.on("telemetry/batch")[0]).front() == 0);
  CHECK(rig.broker.stored().front() == 0);
  CHECK(rig.client->stats().readingsSent == rig.broker.stored().size());
  CHECK(rig.client->stats().readingsDropped == 0);
}

TEST_CASE("mqtt: a refusal that would never pass drops the readings it names, and only those") {
  MqttRig rig;
  rig.broker.storing = false;
  rig.start();
  rig.runFor(10100);
  REQUIRE(rig.broker.on("telemetry").size() == 2);
  const std::string boot = formatBootId(rig.client->bootId());
  rig.broker.deliver(kTopic + "errors", R"({"error": "rule_denied", "message": "temperature too high", "rule": "r1", "readings": [[")" +
                                            boot + R"(", 1]]})");
  rig.runFor(20);
  CHECK(rig.client->stats().readingsDropped == 1);
  CHECK(rig.sink.contains("W: telemetry: refused (rule_denied: temperature too high); 1 readings dropped"));
  rig.broker.deliver(kTopic + "errors", R"({"error": "invalid_request", "message": "bad ota status"})");  // names none
  rig.runFor(20);
  CHECK(rig.client->stats().readingsDropped == 1);
  rig.broker.storing = true;
  rig.runFor(40000);
  CHECK(rig.client->buffer().empty());
  CHECK(rig.broker.stored() == std::vector<uint64_t>{2, 3, 0, 4, 5});  // seq 0 again after its timeout; seq 1 never
}

TEST_CASE("mqtt: an OTA offer on the ota topic reaches the updater; an empty message does not") {
  struct Listener : OtaListener {
    std::vector<std::string> versions;
    void offered(const OtaOffer& offer) override { versions.push_back(offer.version); }
  } listener;
  MqttRig rig;
  rig.client->setOtaListener(&listener);
  rig.start();
  rig.runFor(100);
  const std::string sha(64, 'a');
  rig.broker.deliver(kTopic + "ota", R"({"title": "fix", "version": "1.2.0", "size": 1000, "sha256": ")" + sha +
                                         R"(", "url": "/devices/)" + kDevice + "/firmware/" + sha + "\"}");
  rig.runFor(20);
  rig.broker.deliver(kTopic + "ota", "");
  rig.runFor(20);
  CHECK(listener.versions == std::vector<std::string>{"1.2.0"});
}

TEST_CASE("mqtt: through repeated outages with lost PUBACKs and receipts every reading is stored and counted once") {
  ClientSettings settings;
  settings.telemetryIntervalMs = 1000;
  settings.backoffCapMs = 4000;
  settings.batchSize = 5;
  MqttRig rig(settings);
  rig.start();
  for (int outage = 0; outage < 12; ++outage) {
    rig.runFor(3000 + 700 * (outage % 3));
    rig.broker.holdAcks = outage % 2 == 0;  // half the outages swallow the PUBACKs and receipts in flight
    rig.runFor(1500);
    rig.broker.drop();
    rig.broker.up = false;
    rig.runFor(2000 + 1000 * (outage % 4));
    rig.broker.up = true;
    rig.broker.holdAcks = false;
  }
  REQUIRE(rig.runUntil([&] { return rig.client->online() && rig.client->buffer().empty(); }, 60000));
  rig.runFor(100);
  const std::vector<uint64_t> received = rig.broker.receivedSeqs();
  const std::set<uint64_t> distinct(received.begin(), received.end());
  const uint64_t taken = *distinct.rbegin() + 1;
  CHECK(taken > 60);
  CHECK(distinct.size() == taken);  // nothing lost
  CHECK(received.size() > distinct.size());  // some were sent twice: the server dedupes them on (boot, seq)
  CHECK(rig.client->stats().readingsSent == taken);  // each counted once
  CHECK(rig.broker.stored().size() == taken);
  CHECK(rig.client->buffer().overflowDropped() == 0);
}

TEST_CASE("mqtt: plain mqtt:// only to a development host; mqtts:// is verified against the root CA") {
  {
    MqttRig rig(ClientSettings(), "mqtt://broker.example.com");
    rig.start();
    rig.runFor(100);
    CHECK(rig.broker.connects.empty());
    CHECK(rig.client->state() == MqttDeviceClient::State::NotProvisioned);
    CHECK(rig.sink.contains("refusing plain MQTT to a public host"));
  }
  {
    ClientSettings settings;
    settings.defaultRootCaPem = "-----BEGIN CERTIFICATE-----\nMII...";
    MqttRig rig(settings, "mqtts://broker.example.com");
    rig.start();
    rig.runFor(100);
    REQUIRE(rig.broker.connects.size() == 1);
    CHECK(rig.broker.connects[0].tls);
    CHECK(rig.broker.connects[0].port == 8883);
    CHECK(rig.broker.rootCa == settings.defaultRootCaPem);
  }
  Url url;
  std::string why;
  CHECK_FALSE(parseBrokerUrl("mqtt://localhost:1883@evil.com", url, why));
  CHECK_FALSE(parseBrokerUrl("http://localhost", url, why));
  CHECK_FALSE(parseBrokerUrl("mqtt://localhost/topic", url, why));
  REQUIRE(parseBrokerUrl("mqtt://[::1]:1884", url, why));
  CHECK(url.host == "::1");
  CHECK(url.port == 1884);
}
