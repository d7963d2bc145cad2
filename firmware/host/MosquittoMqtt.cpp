#include "MosquittoMqtt.h"

#include <mosquitto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace thingsnxt {

MosquittoMqttTransport::MosquittoMqttTransport() { mosquitto_lib_init(); }

MosquittoMqttTransport::~MosquittoMqttTransport() {
  release();
  if (!caFile_.empty()) unlink(caFile_.c_str());
  mosquitto_lib_cleanup();
}

void MosquittoMqttTransport::setRootCa(const std::string& pem) {
  if (caFile_.empty()) {
    char path[] = "/tmp/thingsnxt-ca-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return;
    close(fd);
    caFile_ = path;
  }
  FILE* file = std::fopen(caFile_.c_str(), "w");
  if (file == nullptr) return;
  std::fwrite(pem.data(), 1, pem.size(), file);
  std::fclose(file);
}

bool MosquittoMqttTransport::connect(const MqttConnectOptions& options) {
  release();
  client_ = mosquitto_new(options.clientId.c_str(), true, this);
  if (client_ == nullptr) return failed("mosquitto_new", MOSQ_ERR_NOMEM);
  mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(client_, &MosquittoMqttTransport::onConnect);
  mosquitto_disconnect_callback_set(client_, &MosquittoMqttTransport::onDisconnect);
  mosquitto_publish_callback_set(client_, &MosquittoMqttTransport::onPublish);
  mosquitto_message_callback_set(client_, &MosquittoMqttTransport::onMessage);
  int code = mosquitto_username_pw_set(client_, options.username.c_str(), options.password.c_str());
  if (code != MOSQ_ERR_SUCCESS) return failed("credentials", code);
  code = mosquitto_will_set(client_, options.willTopic.c_str(), static_cast<int>(options.willPayload.size()),
                            options.willPayload.data(), 1, true);
  if (code != MOSQ_ERR_SUCCESS) return failed("will", code);
  if (options.tls) {
    code = mosquitto_tls_set(client_, caFile_.empty() ? nullptr : caFile_.c_str(), nullptr, nullptr, nullptr, nullptr);
    if (code != MOSQ_ERR_SUCCESS) return failed("TLS", code);
  }
  // Blocks for the TCP connect only; the CONNACK arrives through poll().
  code = mosquitto_connect(client_, options.host.c_str(), options.port, options.keepAliveS);
  if (code != MOSQ_ERR_SUCCESS) return failed("connect", code);
  live_ = true;
  return true;
}

void MosquittoMqttTransport::disconnect() {
  if (client_ != nullptr && live_) {
    mosquitto_disconnect(client_);
    mosquitto_loop(client_, 0, 1);  // sends DISCONNECT: the broker does not publish the will
  }
  release();
}

uint16_t MosquittoMqttTransport::publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain) {
  if (client_ == nullptr || !live_) return 0;
  int messageId = 0;
  const int code = mosquitto_publish(client_, &messageId, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                     qos, retain);
  if (code != MOSQ_ERR_SUCCESS) {
    failed("publish", code);
    return 0;
  }
  return static_cast<uint16_t>(messageId);
}

bool MosquittoMqttTransport::subscribe(const std::string& topic, uint8_t qos) {
  if (client_ == nullptr || !live_) return false;
  const int code = mosquitto_subscribe(client_, nullptr, topic.c_str(), qos);
  return code == MOSQ_ERR_SUCCESS || failed("subscribe", code);
}

bool MosquittoMqttTransport::poll(MqttEvent& event) {
  if (client_ != nullptr && live_) {
    const int code = mosquitto_loop(client_, 0, 1);
    if (code != MOSQ_ERR_SUCCESS && live_) ended(MqttEvent::Type::Disconnected, false, mosquitto_strerror(code));
  }
  if (events_.empty()) return false;
  event = std::move(events_.front());
  events_.pop_front();
  return true;
}

void MosquittoMqttTransport::onConnect(mosquitto*, void* self, int code) {
  auto* transport = static_cast<MosquittoMqttTransport*>(self);
  if (code == 0) {
    MqttEvent event;
    event.type = MqttEvent::Type::Connected;
    transport->events_.push_back(event);
    return;
  }
  // MQTT 3.1.1 CONNACK codes 4 (bad user name or password) and 5 (not authorised).
  transport->ended(MqttEvent::Type::Refused, code == 4 || code == 5, mosquitto_connack_string(code));
}

void MosquittoMqttTransport::onDisconnect(mosquitto*, void* self, int code) {
  auto* transport = static_cast<MosquittoMqttTransport*>(self);
  if (transport->live_) transport->ended(MqttEvent::Type::Disconnected, false, mosquitto_strerror(code));
}

void MosquittoMqttTransport::onPublish(mosquitto*, void* self, int messageId) {
  MqttEvent event;
  event.type = MqttEvent::Type::PublishAcked;
  event.messageId = static_cast<uint16_t>(messageId);
  static_cast<MosquittoMqttTransport*>(self)->events_.push_back(event);
}

void MosquittoMqttTransport::onMessage(mosquitto*, void* self, const mosquitto_message* message) {
  MqttEvent event;
  event.type = MqttEvent::Type::Message;
  event.topic = message->topic;
  event.payload.assign(static_cast<const char*>(message->payload), static_cast<size_t>(message->payloadlen));
  static_cast<MosquittoMqttTransport*>(self)->events_.push_back(event);
}

// The connection is over: reported once, and the library is not driven any more.
void MosquittoMqttTransport::ended(MqttEvent::Type type, bool notAuthorized, const std::string& detail) {
  live_ = false;
  MqttEvent event;
  event.type = type;
  event.notAuthorized = notAuthorized;
  event.detail = detail;
  events_.push_back(event);
}

bool MosquittoMqttTransport::failed(const char* what, int code) {
  error_ = std::string(what) + ": " + (code == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(code));
  return false;
}

void MosquittoMqttTransport::release() {
  if (client_ != nullptr) mosquitto_destroy(client_);
  client_ = nullptr;
  live_ = false;
  events_.clear();
}

}  // namespace thingsnxt
