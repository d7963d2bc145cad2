// What a device does whatever carries its messages (HTTP in DeviceClient.h,
// MQTT in MqttDeviceClient.h): the readings (seq, boot, ts), the health
// report, the LED pins that follow the server's state, the offline buffer,
// the counters `stats` shows. Each transport derives from it and adds when
// and how messages go out; the sketch and the console drive either through
// this class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "Backoff.h"
#include "Board.h"
#include "Config.h"
#include "Json.h"
#include "Log.h"
#include "Messages.h"
#include "OfflineBuffer.h"
#include "OtaUpdate.h"
#include "PinMap.h"
#include "Reading.h"
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
  // deploy), or a broker's "not authorized": wait on this longer backoff
  // (HTTP: then check /health) and try again.
  uint32_t credentialRetryBaseMs = 60000;
  uint32_t credentialRetryCapMs = 3600000;
  // Refusals, each confirmed by a healthy /health, before a device with a
  // fleet provisioning key asks the server for new credentials.
  uint32_t refusalsBeforeReprovisioning = 3;
  uint32_t healthReportIntervalMs = 60000;  // the "device" object: first reading after boot, then at most this often
  uint32_t sequenceBlock = 100;  // seq numbers reserved per flash write
  size_t bufferCapacity = 120;  // readings kept while offline
  size_t batchSize = 25;        // readings per batch upload (server limit: 500 and 64 KiB)
  uint16_t mqttKeepAliveS = 30;  // a dead broker connection is noticed after 1.5 times this
  // A reading (or batch) published over MQTT without the platform's receipt
  // after this long goes up again from the buffer: the platform may never
  // have had it (its subscription lost in a broker restart), or the receipt
  // was lost.
  uint32_t mqttReceiptTimeoutMs = 30000;
  const char* defaultRootCaPem = "";  // used for https and mqtts when the configuration has no CA
  const char* firmwareVersion = "";
  const char* deviceName = "";  // the name a provisioned device asks for; "" lets the server choose
};

class SensorSource {
 public:
  virtual ~SensorSource() = default;
  // Adds the sensor fields; the pin values are already in the reading.
  virtual void read(Reading& reading) = 0;
};

struct Stats {
  uint32_t readingsSent = 0;     // accepted by the server (HTTP) or named in its receipt (MQTT), live or from the buffer
  uint32_t readingsDropped = 0;  // refused by the server (400, 413, a security rule; over MQTT: named in the refusal)
  uint32_t requestsFailed = 0;   // requests without a 2xx or 304 answer; broker connections lost or refused
  uint32_t retries = 0;          // backoff waits after a failure
  uint32_t rateLimited = 0;      // 429 answers, rate_limited errors
  uint32_t credentialRefusals = 0;  // 401/403/404 answers, "not authorized" CONNACKs
  uint32_t pinChanges = 0;       // LED changes applied from the server's state
  uint32_t healthReports = 0;    // "device" objects the server accepted
  int lastHttpStatus = 0;        // kNetworkError when the last request got no answer
};

class DeviceCore {
 public:
  virtual ~DeviceCore() = default;

  // Switches the LED outputs off, picks the boot id, restores the seq
  // counter and the offline buffer, and applies the configuration. Call from setup().
  void begin(const DeviceConfig& config);
  // Applies new credentials, URL, CA, pin or provisioning key; retries at once.
  virtual void configure(const DeviceConfig& config) = 0;
  // Call from loop(); never sleeps.
  virtual void tick() = 0;
  // The server is taking messages: OTA may use the time between them.
  virtual bool online() const = 0;

  // Told of the `ota` offer whenever the server sends one.
  void setOtaListener(OtaListener* listener) { otaListener_ = listener; }
  void setNetworkUp(bool up) { networkUp_ = up; }
  const Stats& stats() const { return stats_; }
  const OfflineBuffer& buffer() const { return buffer_; }
  uint32_t bootId() const { return boot_; }
  void reportStats(TextSink& out);

 protected:
  // `transport` names the transport in the health report ("http", "mqtt").
  DeviceCore(const ClientSettings& settings, const char* transport, Board& board, JsonReader& reader,
             JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log, RecordStore* store);

  Reading takeReading(uint64_t nowMs);
  // The health report goes with a live reading when due (null when not);
  // healthReportAccepted() once the server has it.
  const HealthReport* healthReportIfDue(uint64_t nowMs, HealthReport& report);
  void healthReportAccepted(uint64_t nowMs);
  void keepForLater(const Reading& reading);
  // Readings taken before the wall clock was known get their time; false
  // while it is still unknown (batch records need one).
  bool dateBufferedReadings(uint64_t nowMs);
  // Applies the desired pins and the OTA offer of a JSON state; a changed
  // pin is reported at once (the next reading is due now).
  void applyState(const std::string& body, const char* source);
  // Failures, as both transports wait them out: never by sleeping, but
  // with quietUntilMs_, before which nothing is sent.
  void resetBackoff();
  // No answer, 5xx, a lost broker connection: the ordinary backoff.
  void retryLater(const char* what, const char* unavailable, const std::string& cause);
  // 429 or the broker's rate_limited error: wait `retryAfterMs` (0: the
  // backoff's delay), and double the intervals.
  void rateLimited(const char* what, const std::string& cause, uint32_t retryAfterMs);
  // Refused credentials: the long backoff; returns its delay.
  uint32_t waitLong();
  // An answer that was not a failure: the backoff starts over.
  void answered();
  void credentialsAccepted();

  // The state line and the connection line of `stats`.
  virtual const char* stateDescription() const = 0;
  virtual std::string connectionDescription() const = 0;

  const ClientSettings settings_;
  Board& board_;
  JsonReader& reader_;
  JsonWriter& writer_;
  PinMap& pins_;
  Log& log_;
  bool networkUp_ = true;
  SequenceCounter sequence_;
  OfflineBuffer buffer_;
  Pacing pacing_;
  PeriodicTimer telemetryTimer_;
  Stats stats_;
  Backoff backoff_;
  Backoff credentialBackoff_;
  uint32_t refusals_ = 0;  // since credentials were last accepted
  uint64_t quietUntilMs_ = 0;  // nothing is sent before this (backoff or Retry-After)

 private:
  const char* transport_;
  SensorSource& sensors_;
  OtaListener* otaListener_ = nullptr;
  uint32_t boot_ = 0;
  bool healthReported_ = false;
  uint64_t lastHealthReportMs_ = 0;
};

}  // namespace thingsnxt
