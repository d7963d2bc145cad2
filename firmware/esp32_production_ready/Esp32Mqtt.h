#pragma once

#include <ThingsNXT.h>
#include <espMqttClient.h>

#include <deque>
#include <string>

// The core's MqttTransport on the ESP32, with espMqttClient 1.7 (bertmelis,
// MQTT 3.1.1, QoS 0–2; firmware/README.md says why this library).
// mqtts:// goes through espMqttClientSecure checked against the root CA,
// mqtt:// (development brokers only: the core refuses public ones) through
// the plain client. The library runs without its own task: poll() calls
// loop() from the sketch's loop(), so its callbacks come on the loop task and
// queue events without locking. Its outbox would send unacknowledged QoS 1
// messages again after a reconnect; it is cleared before each connect, since
// the core re-sends those readings itself from its offline buffer.
class Esp32MqttTransport : public thingsnxt::MqttTransport {
 public:
  Esp32MqttTransport()
      : plain_(espMqttClientTypes::UseInternalTask::NO), secure_(espMqttClientTypes::UseInternalTask::NO) {
    listen(plain_);
    listen(secure_);
  }

  void setRootCa(const std::string& pem) override {
    rootCa_ = pem;  // the library keeps the pointer, not a copy
    secure_.setCACert(rootCa_.c_str());
  }

  bool connect(const thingsnxt::MqttConnectOptions& options) override {
    options_ = options;  // the library keeps pointers to these strings for the life of the connection
    events_.clear();
    if (options_.tls) {
      active_ = &configure(secure_);
    } else {
      active_ = &configure(plain_);
    }
    active_->clearQueue(true);
    if (!active_->connect()) {
      error_ = "espMqttClient could not start connecting";
      return false;
    }
    return true;
  }

  void disconnect() override {
    if (active_ != nullptr) active_->disconnect(true);
    events_.clear();
  }

  uint16_t publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain) override {
    if (active_ == nullptr) return 0;
    return active_->publish(topic.c_str(), qos, retain, reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  }

  bool subscribe(const std::string& topic, uint8_t qos) override {
    return active_ != nullptr && active_->subscribe(topic.c_str(), qos) != 0;
  }

  bool poll(thingsnxt::MqttEvent& event) override {
    if (active_ != nullptr) active_->loop();
    if (events_.empty()) return false;
    event = events_.front();
    events_.pop_front();
    return true;
  }

  std::string lastError() const override { return error_; }

 private:
  template <typename Client>
  Client& configure(Client& client) {
    return client.setServer(options_.host.c_str(), options_.port)
        .setClientId(options_.clientId.c_str())
        .setCredentials(options_.username.c_str(), options_.password.c_str())
        .setWill(options_.willTopic.c_str(), 1, true, options_.willPayload.c_str())
        .setKeepAlive(options_.keepAliveS)
        .setCleanSession(true);
  }

  template <typename Client>
  void listen(Client& client) {
    using espMqttClientTypes::DisconnectReason;
    using Type = thingsnxt::MqttEvent::Type;
    client.onConnect([this](bool) { push(Type::Connected); })
        .onDisconnect([this](DisconnectReason reason) {
          const std::string detail = espMqttClientTypes::disconnectReasonToString(reason);
          // CONNACK refusals (codes 1-5); bad credentials are handled as HTTP's 401 (a long backoff).
          const bool refused = reason >= DisconnectReason::MQTT_UNACCEPTABLE_PROTOCOL_VERSION &&
                               reason <= DisconnectReason::MQTT_NOT_AUTHORIZED;
          push(refused ? Type::Refused : Type::Disconnected, 0, detail);
          events_.back().notAuthorized =
              reason == DisconnectReason::MQTT_NOT_AUTHORIZED || reason == DisconnectReason::MQTT_MALFORMED_CREDENTIALS;
        })
        .onPublish([this](uint16_t packetId) { push(Type::PublishAcked, packetId); })
        .onMessage([this](const espMqttClientTypes::MessageProperties&, const char* topic, const uint8_t* payload,
                          size_t length, size_t index, size_t total) {
          // A large message arrives in parts; it is handed on whole.
          if (index == 0) incoming_.clear();
          incoming_.append(reinterpret_cast<const char*>(payload), length);
          if (index + length < total) return;
          push(Type::Message);
          events_.back().topic = topic;
          events_.back().payload = incoming_;
        });
  }

  void push(thingsnxt::MqttEvent::Type type, uint16_t messageId = 0, const std::string& detail = "") {
    thingsnxt::MqttEvent event;
    event.type = type;
    event.messageId = messageId;
    event.detail = detail;
    events_.push_back(event);
  }

  espMqttClient plain_;
  espMqttClientSecure secure_;
  MqttClient* active_ = nullptr;
  thingsnxt::MqttConnectOptions options_;
  std::string rootCa_;
  std::deque<thingsnxt::MqttEvent> events_;
  std::string incoming_;
  std::string error_;
};
