// The device over MQTT (docs/MQTT.md): one connection to the broker,
// username and client id the device id, password its token. Readings are
// published QoS 1 on devices/<id>/telemetry; the desired state arrives
// retained on devices/<id>/state, receipts on devices/<id>/stored, refusals
// on devices/<id>/errors, the OTA offer on devices/<id>/ota (the image
// itself downloads over HTTP).
//
// A reading counts as delivered only once the platform's receipt names it
// (its boot and seq, published after the commit): the broker's PUBACK says
// only that the broker has it, and a broker that lost the platform's
// subscription acknowledges what nobody stores. Until the receipt, a live
// reading is held in RAM (as an HTTP request in flight is); one not
// receipted within ClientSettings::mqttReceiptTimeoutMs, or held when the connection drops,
// goes into the offline buffer, and buffered readings go up as batches on
// devices/<id>/telemetry/batch, leaving the buffer on the batch's receipt.
// A receipt lost after the commit means the reading is sent twice: the
// server recognises it by (boot, seq). A refusal names its readings: a
// rate-limited one is sent again after retry_after, one that can never pass
// is dropped. Readings, pins, the buffer and the backoff are DeviceCore's,
// the same as over HTTP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "DeviceCore.h"
#include "Mqtt.h"

namespace thingsnxt {

class MqttDeviceClient : public DeviceCore {
 public:
  enum class State {
    NotProvisioned,      // no id, token or usable broker URL: no traffic
    Disconnected,        // connects when the backoff allows
    Connecting,          // waiting for CONNACK
    Connected,
    CredentialsRefused,  // CONNACK "not authorized": waiting on the long backoff, then connecting again
  };

  // At most this many live readings wait for their receipt; more are buffered.
  static constexpr size_t kMaxInFlight = 8;

  // `brokerUrl`: mqtt(s)://host[:port]; plain mqtt:// only to a development host.
  MqttDeviceClient(const ClientSettings& settings, const std::string& brokerUrl, Board& board, MqttTransport& mqtt,
                   JsonReader& reader, JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log,
                   RecordStore* store = nullptr);

  void configure(const DeviceConfig& config) override;
  void tick() override;
  bool online() const override { return state_ == State::Connected; }
  State state() const { return state_; }

 private:
  struct InFlight {
    uint64_t sentAtMs;
    bool withHealthReport;
    Reading reading;
  };

  bool brokerUsable(const DeviceConfig& config);
  std::string topic(const char* leaf) const;
  void connect(uint64_t nowMs);
  void handle(const MqttEvent& event);
  void onConnected();
  void onConnectionLost(const std::string& cause);
  void requeueUnreceipted();
  void resendOverdue(uint64_t nowMs);
  void keep(const Reading& reading);
  void backOff(const std::string& cause);
  void onRefused(const MqttEvent& event);
  void onMessage(const MqttEvent& event);
  void onStored(const std::string& payload);
  void onServerError(const std::string& payload);
  size_t settle(const std::vector<ReadingId>& named, bool stored);
  void sendAgainLater(const std::vector<ReadingId>& named);
  void measure(uint64_t nowMs);
  bool publishLive(const Reading& reading, uint64_t nowMs);
  void publishBacklog(uint64_t nowMs);
  const char* stateDescription() const override;
  std::string connectionDescription() const override;

  MqttTransport& mqtt_;
  const std::string brokerUrl_;
  MqttConnectOptions options_;
  State state_ = State::NotProvisioned;
  uint64_t connectStartedMs_ = 0;
  std::vector<InFlight> inFlight_;  // live readings waiting for their receipt
  size_t batchCount_ = 0;  // the oldest readings of the buffer, published as a batch and waiting for their receipt
  uint64_t batchSentAtMs_ = 0;
  std::string lastProblem_ = "not connected yet";
};

}  // namespace thingsnxt
