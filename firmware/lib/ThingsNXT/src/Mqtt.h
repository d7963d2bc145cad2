// The MQTT operations the client needs, as an interface (as Http.h is for
// HTTP): the ESP32 sketch implements it with espMqttClient
// (esp32_production_ready/Esp32Mqtt.h), the host with libmosquitto
// (host/MosquittoMqtt.h), the unit tests with a fake broker. Nothing here
// blocks for an answer: connect() and publish() start something, and what
// came of it arrives later as an event from poll().
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

struct MqttConnectOptions {
  std::string host;
  uint16_t port = 1883;
  bool tls = false;  // verified against setRootCa()
  std::string clientId;
  std::string username;
  std::string password;
  std::string willTopic;  // published by the broker, retained, when the connection is lost
  std::string willPayload;
  uint16_t keepAliveS = 30;
};

struct MqttEvent {
  enum class Type {
    Connected,      // CONNACK accepted
    Refused,        // CONNACK refused; notAuthorized for bad credentials (MQTT 3.1.1 codes 4 and 5)
    Disconnected,   // the connection (or the attempt) ended without a CONNACK refusal
    PublishAcked,   // PUBACK for messageId
    Message,        // a message arrived on a subscribed topic
  };
  Type type = Type::Disconnected;
  bool notAuthorized = false;
  uint16_t messageId = 0;
  std::string topic;
  std::string payload;
  std::string detail;  // why, for Refused and Disconnected: logged
};

class MqttTransport {
 public:
  virtual ~MqttTransport() = default;
  virtual void setRootCa(const std::string& pem) = 0;
  // Starts connecting (clean session, the will retained at QoS 1); false
  // when it could not even start (detail in lastError()). The outcome
  // arrives as Connected, Refused or Disconnected.
  virtual bool connect(const MqttConnectOptions& options) = 0;
  virtual void disconnect() = 0;
  // Queues a publish; its message id (PublishAcked carries it for QoS 1), or
  // 0 when it could not be queued (not connected, out of memory).
  virtual uint16_t publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain) = 0;
  virtual bool subscribe(const std::string& topic, uint8_t qos) = 0;
  // Runs the network for a moment; true with the next event, if one is waiting.
  virtual bool poll(MqttEvent& event) = 0;
  virtual std::string lastError() const = 0;
};

}  // namespace thingsnxt
