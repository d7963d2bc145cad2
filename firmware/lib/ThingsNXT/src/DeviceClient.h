// The device side of the ThingsNXT protocol: when to measure, what to send,
// what the answers mean. Call tick() from loop(); it sends at most one
// request per call and never sleeps, so the sketch stays responsive between
// requests (serial commands, WiFi reconnects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ApiUrls.h"
#include "Backoff.h"
#include "Board.h"
#include "Config.h"
#include "Http.h"
#include "Json.h"
#include "Log.h"
#include "Messages.h"
#include "OfflineBuffer.h"
#include "OtaUpdate.h"
#include "PinMap.h"
#include "Reading.h"
#include "ResponsePolicy.h"
#include "Schedule.h"
#include "Sequence.h"
#include "Storage.h"

namespace thingsnxt {

struct ClientSettings {
  uint32_t telemetryIntervalMs = 10000;
  uint32_t pollIntervalMs = 5000;  // plain polling, when the server does not hold long-polls
  uint32_t healthIntervalMs = 60000;
  uint32_t longPollMaxSeconds = 25;  // the server's limit is 30; 0 turns long-polling off
  uint32_t requestTimeoutMs = 10000;  // a long-poll adds its wait to this
  uint32_t backoffBaseMs = 1000;
  uint32_t backoffCapMs = 60000;
  // After a 401/403/404 (refused credentials, or a proxy's answer during a
  // deploy): wait on this longer backoff, check /health, then try again.
  uint32_t credentialRetryBaseMs = 60000;
  uint32_t credentialRetryCapMs = 3600000;
  // Refusals, each confirmed by a healthy /health, before a device with a
  // fleet provisioning key asks the server for new credentials.
  uint32_t refusalsBeforeReprovisioning = 3;
  uint32_t healthReportIntervalMs = 60000;  // the "device" object: first reading after boot, then at most this often
  uint32_t sequenceBlock = 100;  // seq numbers reserved per flash write
  size_t bufferCapacity = 120;  // readings kept while offline
  size_t batchSize = 25;        // readings per batch upload (server limit: 500 and 64 KiB)
  const char* defaultRootCaPem = "";  // used for https when the configuration has no CA
  const char* firmwareVersion = "";
  const char* deviceName = "";  // the name a provisioned device asks for; "" lets the server choose
};

// The longest one request can keep the loop waiting: connect, TLS handshake,
// and the response within the request timeout plus the longest long-poll.
uint32_t worstCaseRequestMs(const ClientSettings& settings);
// A task watchdog timeout that a healthy loop never reaches: the worst
// request plus a margin for the rest of the loop (serial, WiFi, flash).
uint32_t watchdogTimeoutMs(const ClientSettings& settings);

class SensorSource {
 public:
  virtual ~SensorSource() = default;
  // Adds the sensor fields; the pin values are already in the reading.
  virtual void read(Reading& reading) = 0;
};

// Where credentials obtained from POST /devices/provision are kept: the
// sketch's configuration and Preferences (SavedConfig below).
class CredentialSink {
 public:
  virtual ~CredentialSink() = default;
  virtual bool storeCredentials(const Credentials& credentials) = 0;
};

// The shared configuration (the one the console edits) and its store.
class SavedConfig : public CredentialSink {
 public:
  SavedConfig(DeviceConfig& config, ConfigStore& store) : config_(config), store_(store) {}
  bool storeCredentials(const Credentials& credentials) override {
    config_.deviceId = credentials.deviceId;
    config_.deviceToken = credentials.deviceToken;
    return store_.save(config_);
  }

 private:
  DeviceConfig& config_;
  ConfigStore& store_;
};

struct Stats {
  uint32_t readingsSent = 0;     // accepted by the server, live or from the buffer
  uint32_t readingsDropped = 0;  // refused by the server (400, 413, a security rule)
  uint32_t requestsFailed = 0;   // requests without a 2xx or 304 answer
  uint32_t retries = 0;          // backoff waits after a failure
  uint32_t rateLimited = 0;      // 429 answers
  uint32_t credentialRefusals = 0;  // 401/403/404 answers
  uint32_t pinChanges = 0;       // LED changes applied from the server's state
  uint32_t healthReports = 0;    // "device" objects the server accepted
  int lastHttpStatus = 0;        // kNetworkError when the last request got no answer
};

class DeviceClient {
 public:
  enum class State {
    NotProvisioned,      // credentials or URL missing or unusable: no traffic
    Provisioning,        // has a fleet key, no credentials: asking POST /devices/provision
    Running,
    CredentialsRefused,  // 401/403/404: waiting on the long backoff, then /health, then trying again
  };

  // `store` keeps the offline buffer and the seq counter across reboots; null: RAM only.
  DeviceClient(const ClientSettings& settings, Board& board, HttpTransport& transport, JsonReader& reader,
               JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log, RecordStore* store = nullptr);

  // Switches the LED outputs off, picks the boot id, restores the seq
  // counter and the offline buffer, and applies the configuration. Call from setup().
  void begin(const DeviceConfig& config);
  // Applies new credentials, URL, CA, pin or provisioning key; retries at once.
  void configure(const DeviceConfig& config);
  void setCredentialSink(CredentialSink* sink) { credentialSink_ = sink; }
  // Told of the `ota` offer in every telemetry and poll answer that carries one.
  void setOtaListener(OtaListener* listener) { otaListener_ = listener; }
  void setNetworkUp(bool up) { networkUp_ = up; }
  void tick();

  State state() const { return state_; }
  const Stats& stats() const { return stats_; }
  const OfflineBuffer& buffer() const { return buffer_; }
  uint32_t bootId() const { return boot_; }
  void reportStats(TextSink& out);

 private:
  enum class LongPoll { Unknown, Supported, Unsupported };

  bool applyUrl(const DeviceConfig& config);
  bool readyToSend(uint64_t nowMs) const;
  void measure(uint64_t nowMs);
  Reading takeReading(uint64_t nowMs);
  bool healthReportDue(uint64_t nowMs) const;
  HealthReport collectHealth(uint64_t nowMs);
  void sendLive(const Reading& reading, uint64_t nowMs);
  void keepForLater(const Reading& reading);
  bool uploadBacklog(uint64_t nowMs);
  void stampMissingTimes(uint64_t nowMs, uint64_t epochNowMs);
  bool longPollUsable() const;
  uint32_t longPollSeconds(uint64_t nowMs) const;
  bool pollDue(uint64_t nowMs) const;
  void pollState(uint64_t nowMs);
  void learnLongPollSupport(uint64_t elapsedMs, uint32_t waitSeconds);
  bool checkHealth();
  void retryAfterRefusal();
  void provision();
  void adopt(const Credentials& credentials);
  void waitLong(const char* what, const std::string& cause);
  HttpResponse exchange(HttpRequest request);
  Outcome settle(const HttpResponse& response, const char* what);
  void onSuccess();
  void backOff(Outcome outcome, const HttpResponse& response, const char* what, const std::string& cause);
  void applyState(const std::string& body, const char* source);

  const ClientSettings settings_;
  Board& board_;
  HttpTransport& transport_;
  JsonReader& reader_;
  JsonWriter& writer_;
  PinMap& pins_;
  SensorSource& sensors_;
  Log& log_;
  CredentialSink* credentialSink_ = nullptr;
  OtaListener* otaListener_ = nullptr;

  State state_ = State::NotProvisioned;
  ApiUrls urls_;
  std::string baseUrl_;
  std::string token_;
  std::string provisioningKey_;
  std::string provisioningSecret_;
  bool canProvision_ = false;
  bool networkUp_ = true;
  uint32_t boot_ = 0;
  SequenceCounter sequence_;
  OfflineBuffer buffer_;
  Backoff backoff_;
  Backoff credentialBackoff_;
  uint32_t refusals_ = 0;  // since the last accepted request
  Pacing pacing_;
  uint64_t quietUntilMs_ = 0;  // no request before this (backoff or Retry-After)
  PeriodicTimer telemetryTimer_;
  PeriodicTimer pollTimer_;
  PeriodicTimer healthTimer_;
  bool healthReported_ = false;
  uint64_t lastHealthReportMs_ = 0;
  std::string etag_;
  LongPoll longPoll_ = LongPoll::Unknown;
  std::string serverHealth_ = "not checked yet";
  Stats stats_;
};

}  // namespace thingsnxt
