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
#include "DeviceCore.h"
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

// The longest one request can keep the loop waiting: connect, TLS handshake,
// and the response within the request timeout plus the longest long-poll.
uint32_t worstCaseRequestMs(const ClientSettings& settings);
// A task watchdog timeout that a healthy loop never reaches: the worst
// request plus a margin for the rest of the loop (serial, WiFi, flash).
uint32_t watchdogTimeoutMs(const ClientSettings& settings);

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

class DeviceClient : public DeviceCore {
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

  void configure(const DeviceConfig& config) override;
  void setCredentialSink(CredentialSink* sink) { credentialSink_ = sink; }
  void tick() override;
  bool online() const override { return state_ == State::Running; }

  State state() const { return state_; }

 private:
  enum class LongPoll { Unknown, Supported, Unsupported };

  bool applyUrl(const DeviceConfig& config);
  bool readyToSend(uint64_t nowMs) const;
  void measure(uint64_t nowMs);
  void sendLive(const Reading& reading, uint64_t nowMs);
  bool uploadBacklog(uint64_t nowMs);
  bool longPollUsable() const;
  uint32_t longPollSeconds(uint64_t nowMs) const;
  bool pollDue(uint64_t nowMs) const;
  void pollState(uint64_t nowMs);
  void learnLongPollSupport(uint64_t elapsedMs, uint32_t waitSeconds);
  bool checkHealth();
  void retryAfterRefusal();
  void provision();
  void adopt(const Credentials& credentials);
  void refused(const char* what, const std::string& cause);
  HttpResponse exchange(HttpRequest request);
  Outcome settle(const HttpResponse& response, const char* what);
  void onSuccess();
  const char* stateDescription() const override;
  std::string connectionDescription() const override;
  void backOff(Outcome outcome, const HttpResponse& response, const char* what, const std::string& cause);

  HttpTransport& transport_;
  CredentialSink* credentialSink_ = nullptr;

  State state_ = State::NotProvisioned;
  ApiUrls urls_;
  std::string baseUrl_;
  std::string token_;
  std::string provisioningKey_;
  std::string provisioningSecret_;
  bool canProvision_ = false;
  PeriodicTimer pollTimer_;
  PeriodicTimer healthTimer_;
  std::string etag_;
  LongPoll longPoll_ = LongPoll::Unknown;
  std::string serverHealth_ = "not checked yet";
};

}  // namespace thingsnxt
