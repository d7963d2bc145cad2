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
#include "OfflineBuffer.h"
#include "PinMap.h"
#include "Reading.h"
#include "ResponsePolicy.h"
#include "Schedule.h"

namespace thingsnxt {

struct ClientSettings {
  uint32_t telemetryIntervalMs = 10000;
  uint32_t pollIntervalMs = 5000;  // plain polling, when the server does not hold long-polls
  uint32_t healthIntervalMs = 60000;
  uint32_t longPollMaxSeconds = 25;  // the server's limit is 30; 0 turns long-polling off
  uint32_t requestTimeoutMs = 10000;  // a long-poll adds its wait to this
  uint32_t backoffBaseMs = 1000;
  uint32_t backoffCapMs = 60000;
  size_t bufferCapacity = 120;  // readings kept while offline
  size_t batchSize = 25;        // readings per batch upload (server limit: 500 and 64 KiB)
  const char* defaultRootCaPem = "";  // used for https when the configuration has no CA
};

class SensorSource {
 public:
  virtual ~SensorSource() = default;
  // Adds the sensor fields; the pin values are already in the reading.
  virtual void read(Reading& reading) = 0;
};

struct Stats {
  uint32_t readingsSent = 0;     // accepted by the server, live or from the buffer
  uint32_t readingsDropped = 0;  // refused by the server (400, 413, a security rule)
  uint32_t requestsFailed = 0;   // requests without a 2xx or 304 answer
  uint32_t retries = 0;          // backoff waits after a failure
  uint32_t rateLimited = 0;      // 429 answers
  uint32_t pinChanges = 0;       // LED changes applied from the server's state
  int lastHttpStatus = 0;        // kNetworkError when the last request got no answer
};

class DeviceClient {
 public:
  enum class State {
    NotProvisioned,     // credentials or URL missing or unusable: no traffic
    Running,
    NeedsProvisioning,  // the server refused the credentials (403/404): no traffic until `set …`
  };

  DeviceClient(const ClientSettings& settings, Board& board, HttpTransport& transport, JsonReader& reader,
               JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log);

  // Switches the LED outputs off and applies the configuration. Call from setup().
  void begin(const DeviceConfig& config);
  // Applies new credentials, URL or CA; lifts a stop for re-provisioning.
  void configure(const DeviceConfig& config);
  void setNetworkUp(bool up) { networkUp_ = up; }
  void tick();

  State state() const { return state_; }
  const Stats& stats() const { return stats_; }
  const OfflineBuffer& buffer() const { return buffer_; }
  void reportStats(TextSink& out);

 private:
  enum class LongPoll { Unknown, Supported, Unsupported };

  bool readyToSend(uint64_t nowMs) const;
  Reading takeReading(uint64_t nowMs);
  void sendLive(const Reading& reading);
  void keepForLater(const Reading& reading);
  bool uploadBacklog(uint64_t nowMs);
  void stampMissingTimes(uint64_t nowMs, uint64_t epochNowMs);
  bool longPollUsable() const;
  uint32_t longPollSeconds(uint64_t nowMs) const;
  bool pollDue(uint64_t nowMs) const;
  void pollState(uint64_t nowMs);
  void learnLongPollSupport(uint64_t elapsedMs, uint32_t waitSeconds);
  void checkHealth(uint64_t nowMs);
  HttpResponse exchange(HttpRequest request);
  Outcome settle(const HttpResponse& response, const char* what);
  void applyState(const std::string& body, const char* source);

  const ClientSettings settings_;
  Board& board_;
  HttpTransport& transport_;
  JsonReader& reader_;
  JsonWriter& writer_;
  PinMap& pins_;
  SensorSource& sensors_;
  Log& log_;

  State state_ = State::NotProvisioned;
  ApiUrls urls_;
  std::string token_;
  bool networkUp_ = true;
  OfflineBuffer buffer_;
  Backoff backoff_;
  Pacing pacing_;
  uint64_t quietUntilMs_ = 0;  // no request before this (backoff or Retry-After)
  PeriodicTimer telemetryTimer_;
  PeriodicTimer pollTimer_;
  PeriodicTimer healthTimer_;
  std::string etag_;
  LongPoll longPoll_ = LongPoll::Unknown;
  std::string serverHealth_ = "not checked yet";
  Stats stats_;
};

}  // namespace thingsnxt
