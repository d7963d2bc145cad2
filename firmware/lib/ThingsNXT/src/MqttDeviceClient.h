// The device over MQTT (docs/MQTT.md): one connection to the broker,
// username and client id the device id, password its token. Readings are
// published QoS 1 on devices/<id>/telemetry; the desired state arrives
// retained on devices/<id>/state, refusals on devices/<id>/errors, the OTA
// offer on devices/<id>/ota (the image itself downloads over HTTP).
//
// A reading counts as delivered only once the broker's PUBACK for it came
// back. Until then it is held (live readings in RAM, as an HTTP request in
// flight is); when the connection drops, what was not acknowledged goes into
// the offline buffer, and buffered readings go up as batches on
// devices/<id>/telemetry/batch, leaving the buffer only on the batch's PUBACK.
// A PUBACK lost with the connection means the reading may be sent twice:
// the server recognises it by (boot, seq). Readings, pins, the buffer and
// the backoff are DeviceCore's, the same as over HTTP.
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

  // At most this many live readings wait for their PUBACK; more are buffered.
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
    uint16_t messageId;
    bool withHealthReport;
    Reading reading;
  };

  bool brokerUsable(const DeviceConfig& config);
  std::string topic(const char* leaf) const;
  void connect(uint64_t nowMs);
  void handle(const MqttEvent& event);
  void onConnected();
  void onConnectionLost(const std::string& cause);
  void requeueUnacknowledged();
  void backOff(const std::string& cause);
  void onRefused(const MqttEvent& event);
  void onAcked(uint16_t messageId);
  void onMessage(const MqttEvent& event);
  void onServerError(const std::string& payload);
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
  std::vector<InFlight> inFlight_;
  uint16_t batchId_ = 0;  // the batch waiting for its PUBACK, 0 when none
  size_t batchCount_ = 0;  // the oldest readings of the buffer it holds
  std::string lastProblem_ = "not connected yet";
};

}  // namespace thingsnxt
