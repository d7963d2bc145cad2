// Test doubles for the core's ports: a board whose clock the test moves, a
// server that answers like the real API (and can be made to fail), a broker
// that behaves like Mosquitto configured for the platform, and a sink that
// keeps what was logged.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "NlohmannJson.h"
#include "ThingsNXT.h"

namespace fakes {

using namespace thingsnxt;
using nlohmann::json;

// 2026-11-27T17:10:00.000Z
constexpr uint64_t kEpochAtBoot = 1795799400000ull;

class FakeBoard : public Board {
 public:
  uint64_t now = 0;
  bool wallClockKnown = true;
  uint32_t nextRandom = 0;
  ResetReason reset = ResetReason::PowerOn;
  bool onWifi = true;
  uint32_t watchdogFeeds = 0;
  std::vector<std::pair<int, bool>> pinWrites;

  uint64_t monotonicMs() override { return now; }
  uint64_t epochMs() override { return wallClockKnown ? kEpochAtBoot + now : 0; }
  uint32_t random32() override { return nextRandom; }
  uint32_t freeHeapBytes() override { return 123456; }
  uint32_t minFreeHeapBytes() override { return 100000; }
  uint32_t largestFreeBlockBytes() override { return 65536; }
  bool wifiRssi(int32_t& dbm) override {
    dbm = -61;
    return onWifi;
  }
  ResetReason resetReason() override { return reset; }
  std::string hardwareId() override { return "a4cf12345678"; }
  void feedWatchdog() override { ++watchdogFeeds; }
  void setPinOutput(int) override {}
  void writePin(int gpio, bool high) override { pinWrites.emplace_back(gpio, high); }
  bool level(int gpio) const {
    for (auto it = pinWrites.rbegin(); it != pinWrites.rend(); ++it) {
      if (it->first == gpio) return it->second;
    }
    return false;
  }
};

inline HttpResponse answer(int status, const json& body = json::object()) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

inline HttpResponse error(int status, const std::string& code) {
  return answer(status, {{"error", code}, {"message", "test says " + code}});
}

inline HttpResponse noAnswer() {
  HttpResponse response;
  response.networkError = "Connection refused";
  return response;
}

enum class Endpoint { Telemetry, Batch, Latest, Health, Provision, Other };

inline Endpoint endpointOf(const HttpRequest& request) {
  const std::string& url = request.url;
  if (url.find("/devices/provision") != std::string::npos) return Endpoint::Provision;
  if (url.find("/telemetry/batch") != std::string::npos) return Endpoint::Batch;
  if (url.find("/telemetry/latest") != std::string::npos) return Endpoint::Latest;
  if (url.find("/telemetry") != std::string::npos) return Endpoint::Telemetry;
  if (url.find("/health") != std::string::npos) return Endpoint::Health;
  return Endpoint::Other;
}

// Answers like the ThingsNXT server: current state with desired control
// pins, ETags, long-polls that hold (moving the board's clock) until the wait
// ends or a change set with changeAt() happens, batch results. answerNext()
// overrides the next answer of one endpoint; `reachable = false` makes every
// request fail as if the server were down.
class FakeServer : public HttpTransport {
 public:
  explicit FakeServer(FakeBoard& board) : board_(board) {}

  json state = {{"v0", 0}, {"v1", 0}};
  bool reachable = true;
  bool holdsLongPolls = true;
  std::vector<HttpRequest> requests;
  std::vector<uint64_t> sentAtMs;  // board time of each request
  std::vector<int> statuses;       // the status each request was answered with
  std::string rootCa;
  std::string pinnedKey;
  // What POST /devices/provision answers (the server of this branch has no
  // such endpoint: the contract is in docs/ESP32_TELEMETRY_API_GUIDE.md).
  std::string provisioningKey = "fleet-key-0123456789";
  std::string provisioningSecret = "fleet-secret-0123456789";
  std::string issuedDeviceId = "fedcba9876543210fedcba98";
  std::string issuedToken = "tok_issued_by_provisioning_0123456789abcdef";
  // Tokens the telemetry endpoints accept; empty: any.
  std::vector<std::string> validTokens;

  void setDesired(const std::string& key, int value) {
    state[key] = value;
    ++version_;
  }
  // A person toggles `key` at board time `atMs`.
  void changeAt(uint64_t atMs, const std::string& key, int value) { changes_.push_back({atMs, key, value}); }
  std::string etag() const { return "\"v" + std::to_string(version_) + "\""; }

  std::vector<HttpRequest> sent(Endpoint endpoint) const {
    std::vector<HttpRequest> matching;
    for (const HttpRequest& request : requests) {
      if (endpointOf(request) == endpoint) matching.push_back(request);
    }
    return matching;
  }

  std::vector<uint64_t> sentAt(Endpoint endpoint) const {
    std::vector<uint64_t> times;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (endpointOf(requests[i]) == endpoint) times.push_back(sentAtMs[i]);
    }
    return times;
  }

  // The records of the batch uploads the server accepted, in order.
  std::vector<json> storedRecords() const {
    std::vector<json> records;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (endpointOf(requests[i]) != Endpoint::Batch || statuses[i] != 200) continue;
      const json body = json::parse(requests[i].body);
      for (const json& record : body["records"]) records.push_back(record);
    }
    return records;
  }

  void answerNext(Endpoint endpoint, const HttpResponse& response) { overrides_.emplace_back(endpoint, response); }

  void setRootCa(const std::string& pem) override { rootCa = pem; }
  void setPinnedKey(const std::string& sha256Hex) override { pinnedKey = sha256Hex; }

  HttpResponse send(const HttpRequest& request) override {
    requests.push_back(request);
    sentAtMs.push_back(board_.now);
    const HttpResponse response = respond(request);
    statuses.push_back(response.status);
    return response;
  }

 private:
  struct Change {
    uint64_t atMs;
    std::string key;
    int value;
  };

  // Applies the changes due by `untilMs`; true if there was one.
  bool applyChanges(uint64_t untilMs) {
    bool applied = false;
    for (auto it = changes_.begin(); it != changes_.end();) {
      if (it->atMs > untilMs) {
        ++it;
        continue;
      }
      if (board_.now < it->atMs) board_.now = it->atMs;
      setDesired(it->key, it->value);
      it = changes_.erase(it);
      applied = true;
    }
    return applied;
  }

  HttpResponse respond(const HttpRequest& request) {
    applyChanges(board_.now);
    for (auto it = overrides_.begin(); it != overrides_.end(); ++it) {
      if (it->first != endpointOf(request)) continue;
      const HttpResponse response = it->second;
      overrides_.erase(it);
      return response;
    }
    if (!reachable) return noAnswer();
    if (!tokenAccepted(request)) return error(403, "invalid_token");
    switch (endpointOf(request)) {
      case Endpoint::Telemetry: return telemetry(request);
      case Endpoint::Batch: {
        const json body = json::parse(request.body);
        return answer(200, {{"accepted", body["records"].size()}, {"duplicates", 0}});
      }
      case Endpoint::Latest: return latest(request);
      case Endpoint::Health: return answer(200, {{"status", "ok"}, {"database", "ok"}});
      case Endpoint::Provision: return provision(request);
      case Endpoint::Other: break;
    }
    return error(404, "not_found");
  }

  bool tokenAccepted(const HttpRequest& request) const {
    const Endpoint endpoint = endpointOf(request);
    if (validTokens.empty() || endpoint == Endpoint::Health || endpoint == Endpoint::Provision) return true;
    const std::string token = request.bearerToken.empty() ? json::parse(request.body).value("device_token", "") : request.bearerToken;
    return std::find(validTokens.begin(), validTokens.end(), token) != validTokens.end();
  }

  HttpResponse provision(const HttpRequest& request) {
    const json body = json::parse(request.body);
    if (body.value("provisioning_key", "") != provisioningKey || body.value("provisioning_secret", "") != provisioningSecret) {
      return error(401, "invalid_provisioning_key");
    }
    validTokens.push_back(issuedToken);
    return answer(201, {{"device_id", issuedDeviceId}, {"device_token", issuedToken}});
  }

  HttpResponse telemetry(const HttpRequest& request) {
    const json body = json::parse(request.body);
    for (const auto& item : body["data"].items()) {
      // Control pins are owned by the server: a report does not change them.
      if (item.key() != "v0" && item.key() != "v1") state[item.key()] = item.value();
    }
    ++version_;
    return answer(200, {{"message", "ok"}, {"data", state}, {"timestamp", "2026-11-27T17:10:00.000Z"}});
  }

  HttpResponse latest(const HttpRequest& request) {
    const size_t wait = request.url.find("wait=");
    if (request.ifNoneMatch == etag()) {
      const uint64_t holdMs = wait != std::string::npos && holdsLongPolls ? std::stoul(request.url.substr(wait + 5)) * 1000 : 0;
      if (!applyChanges(board_.now + holdMs)) {
        board_.now += holdMs;
        HttpResponse response;
        response.status = 304;
        response.etag = etag();
        return response;
      }
    }
    HttpResponse response = answer(200, {{"device_id", "0123456789abcdef01234567"}, {"data", state}});
    response.etag = etag();
    return response;
  }

  FakeBoard& board_;
  int version_ = 1;
  std::deque<std::pair<Endpoint, HttpResponse>> overrides_;
  std::vector<Change> changes_;
};

// A broker as the platform configures Mosquitto (docs/MQTT.md), with the
// platform behind it: it takes the device's connection (or refuses it: `up =
// false` is no answer, `authorized = false` a CONNACK "not authorized"),
// records every publish it received, and answers QoS 1 publishes with PUBACK
// at the device's next poll; while `storing`, the platform stores each
// numbered reading once (stored()) and sends the receipt on the device's
// `stored` topic after the PUBACK. `storing = false` is a broker that lost
// the platform's subscription: PUBACK, nothing stored, no receipt.
// `holdAcks`: PUBACKs and receipts wait for releaseAcks(). drop() ends the
// connection: held ones are lost with it, though the broker has the messages
// (what a real outage between PUBACK and the device looks like).
class FakeBroker : public MqttTransport {
 public:
  struct Publish {
    std::string topic;
    std::string payload;
    uint8_t qos;
    bool retain;
    uint16_t id;
  };

  bool up = true;
  bool authorized = true;
  bool holdAcks = false;
  bool storing = true;
  bool connected = false;
  std::string rootCa;
  std::vector<MqttConnectOptions> connects;
  std::vector<uint64_t> connectsAtMs;
  std::vector<Publish> published;
  std::vector<std::string> subscriptions;
  std::map<std::string, std::string> retained;  // what a subscriber to the topic gets at once

  explicit FakeBroker(FakeBoard& board) : board_(board) {}

  // The platform publishes `payload` on `topic` (retained, as state and ota are).
  void deliver(const std::string& topic, const std::string& payload) {
    retained[topic] = payload;
    if (connected && subscribed(topic)) push(MqttEvent::Type::Message, 0, topic, payload);
  }
  void drop(const std::string& why = "connection lost") {
    connected = false;
    held_.clear();
    events_.clear();
    push(MqttEvent::Type::Disconnected, 0, "", "", why);
  }
  void releaseAcks() {
    events_.insert(events_.end(), held_.begin(), held_.end());
    held_.clear();
  }
  // The seq of every reading the platform stored, each once, in the order stored.
  const std::vector<uint64_t>& stored() const { return stored_; }
  std::vector<Publish> on(const std::string& leaf) const {
    std::vector<Publish> matching;
    for (const Publish& publish : published) {
      if (publish.topic == "devices/0123456789abcdef01234567/" + leaf) matching.push_back(publish);
    }
    return matching;
  }
  // The seq of every reading the broker received, live and batched, in order (with repeats).
  std::vector<uint64_t> receivedSeqs() const {
    std::vector<uint64_t> seqs;
    for (const Publish& publish : published) {
      const json body = json::parse(publish.payload, nullptr, false);
      if (publish.topic.size() > 10 && publish.topic.compare(publish.topic.size() - 10, 10, "/telemetry") == 0) {
        seqs.push_back(body["seq"]);
      } else if (publish.topic.find("/telemetry/batch") != std::string::npos) {
        for (const json& record : body["records"]) seqs.push_back(record["seq"]);
      }
    }
    return seqs;
  }

  void setRootCa(const std::string& pem) override { rootCa = pem; }
  bool connect(const MqttConnectOptions& options) override {
    connects.push_back(options);
    connectsAtMs.push_back(board_.now);
    if (!up) {
      error_ = "Connection refused";
      return false;
    }
    if (!authorized) {
      push(MqttEvent::Type::Refused, 0, "", "", "not authorised");
      events_.back().notAuthorized = true;
      return true;
    }
    connected = true;
    subscriptions.clear();
    push(MqttEvent::Type::Connected);
    return true;
  }
  void disconnect() override {
    connected = false;
    held_.clear();
    events_.clear();
  }
  uint16_t publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain) override {
    if (!connected) return 0;
    const uint16_t id = ++nextId_;
    published.push_back({topic, payload, qos, retain, id});
    const size_t answersFrom = events_.size();
    push(MqttEvent::Type::PublishAcked, id);
    const std::string receipt = storing ? store(topic, payload) : "";
    const std::string receiptTopic = topic.substr(0, topic.find("/telemetry")) + "/stored";
    if (!receipt.empty() && subscribed(receiptTopic)) push(MqttEvent::Type::Message, 0, receiptTopic, receipt);
    if (holdAcks) {
      held_.insert(held_.end(), events_.begin() + static_cast<long>(answersFrom), events_.end());
      events_.erase(events_.begin() + static_cast<long>(answersFrom), events_.end());
    }
    return id;
  }
  bool subscribe(const std::string& topic, uint8_t) override {
    if (!connected) return false;
    subscriptions.push_back(topic);
    const auto found = retained.find(topic);
    if (found != retained.end()) push(MqttEvent::Type::Message, 0, topic, found->second);
    return true;
  }
  bool poll(MqttEvent& event) override {
    if (events_.empty()) return false;
    event = events_.front();
    events_.pop_front();
    return true;
  }
  std::string lastError() const override { return error_; }

 private:
  // The platform's side: stores the numbered readings of a telemetry or batch
  // message (a repeat once) and returns their receipt ("" when none).
  std::string store(const std::string& topic, const std::string& payload) {
    const json body = json::parse(payload, nullptr, false);
    json readings = json::array();
    if (topic.find("/telemetry/batch") != std::string::npos) {
      readings = body["records"];
    } else if (topic.size() > 10 && topic.compare(topic.size() - 10, 10, "/telemetry") == 0) {
      readings.push_back(body);
    }
    json receipt = {{"stored", json::array()}};
    for (const json& reading : readings) {
      if (!reading.contains("seq")) continue;
      receipt["stored"].push_back({reading["boot"], reading["seq"]});
      const uint64_t seq = reading["seq"];
      if (std::find(stored_.begin(), stored_.end(), seq) == stored_.end()) stored_.push_back(seq);
    }
    return receipt["stored"].empty() ? "" : receipt.dump();
  }
  bool subscribed(const std::string& topic) const {
    return std::find(subscriptions.begin(), subscriptions.end(), topic) != subscriptions.end();
  }
  void push(MqttEvent::Type type, uint16_t id = 0, const std::string& topic = "", const std::string& payload = "",
            const std::string& detail = "") {
    MqttEvent event;
    event.type = type;
    event.messageId = id;
    event.topic = topic;
    event.payload = payload;
    event.detail = detail;
    events_.push_back(event);
  }

  FakeBoard& board_;
  std::deque<MqttEvent> events_;
  std::vector<MqttEvent> held_;
  std::vector<uint64_t> stored_;
  uint16_t nextId_ = 0;
  std::string error_;
};

class RecordingSink : public TextSink {
 public:
  std::vector<std::string> lines;
  void writeLine(const char* line) override { lines.emplace_back(line); }
  bool contains(const std::string& text) const {
    for (const std::string& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

class MemoryStore : public ConfigStore {
 public:
  DeviceConfig saved;
  int saves = 0;
  bool load(DeviceConfig& config) override {
    config = saved;
    return true;
  }
  bool save(const DeviceConfig& config) override {
    saved = config;
    ++saves;
    return true;
  }
};

// NVS as the core sees it: each write replaces one record whole. After
// `writesBeforeCut` more writes the power is cut: that write and every later
// one are lost (the write returns false, as the device would never learn).
// reboot() brings the power back; what was written survives.
class FakeFlash : public RecordStore {
 public:
  std::map<std::string, std::vector<uint8_t>> records;
  size_t writes = 0;
  long writesBeforeCut = -1;  // -1: never
  bool failEveryWrite = false;

  size_t read(const char* key, uint8_t* buffer, size_t capacity) override {
    const auto found = records.find(key);
    if (found == records.end() || found->second.size() > capacity) return 0;
    std::copy(found->second.begin(), found->second.end(), buffer);
    return found->second.size();
  }
  bool write(const char* key, const uint8_t* data, size_t size) override {
    if (failEveryWrite || powerCut()) return false;
    ++writes;
    if (writesBeforeCut > 0) --writesBeforeCut;
    records[key].assign(data, data + size);
    return true;
  }
  bool powerCut() const { return writesBeforeCut == 0; }
  void reboot() { writesBeforeCut = -1; }
};

// Accepts what looks like a PEM certificate; the real parsers (OpenSSL on the
// host, mbedTLS on the device) are tested in test_certificates.cpp.
class FakeCertificates : public CertificateParser {
 public:
  bool parsePem(const std::string& pem, std::string& why) override {
    if (pem.find("MII") != std::string::npos) return true;
    why = "fake parser: no DER sequence";
    return false;
  }
};

class FixedSensor : public SensorSource {
 public:
  void read(Reading& reading) override { reading.add("temperature", 21.5); }
};

inline DeviceConfig provisionedConfig() {
  DeviceConfig config;
  config.deviceId = "0123456789abcdef01234567";
  config.deviceToken = "tok_abcdefghijklmnopqrstuvwxyz0123456789ABCDE";
  config.apiBaseUrl = "http://192.168.1.20:5000";
  return config;
}

// The device loop of a rig (`Derived` has a `board` and a `client`), run in 10 ms steps of device time.
template <typename Derived>
struct Ticking {
  // Runs the loop for `ms` of device time.
  void runFor(uint64_t ms) {
    Derived& rig = static_cast<Derived&>(*this);
    const uint64_t end = rig.board.now + ms;
    while (rig.board.now < end) {
      rig.client->tick();
      rig.board.now += 10;
    }
  }

  // Runs the loop until `done` or `limitMs` of device time passed.
  template <typename Predicate>
  bool runUntil(Predicate done, uint64_t limitMs = 600000) {
    Derived& rig = static_cast<Derived&>(*this);
    const uint64_t end = rig.board.now + limitMs;
    while (rig.board.now < end) {
      if (done()) return true;
      rig.client->tick();
      rig.board.now += 10;
    }
    return done();
  }
};

// A complete device on a fake board talking to a fake server.
struct Rig : Ticking<Rig> {
  explicit Rig(ClientSettings s = ClientSettings(), RecordStore* store = nullptr) : settings(s) {
    pins.bind("v0", 2);
    pins.bind("v1", 4, /*activeHigh=*/false);
    client.reset(new DeviceClient(settings, board, server, reader, writer, pins, sensor, log, store));
  }

  void start(const DeviceConfig& config = provisionedConfig()) { client->begin(config); }

  ClientSettings settings;
  FakeBoard board;
  FakeServer server{board};
  NlohmannJsonReader reader;
  NlohmannJsonWriter writer;
  PinMap pins;
  FixedSensor sensor;
  RecordingSink sink;
  Log log{sink};
  std::unique_ptr<DeviceClient> client;
};

}  // namespace fakes
