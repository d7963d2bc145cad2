// Declarations of the espMqttClient 1.7 API (bertmelis/espMqttClient 1.7.3: MqttClient.h, MqttClientSetup.h,
// TypeDefs.h, espMqttClient.h for ARDUINO_ARCH_ESP32) that Esp32Mqtt.h uses (see README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace espMqttClientTypes {

enum class DisconnectReason : uint8_t {
  USER_OK = 0,
  MQTT_UNACCEPTABLE_PROTOCOL_VERSION = 1,
  MQTT_IDENTIFIER_REJECTED = 2,
  MQTT_SERVER_UNAVAILABLE = 3,
  MQTT_MALFORMED_CREDENTIALS = 4,
  MQTT_NOT_AUTHORIZED = 5,
  TLS_BAD_FINGERPRINT = 6,
  TCP_DISCONNECTED = 7
};

const char* disconnectReasonToString(DisconnectReason reason);

enum class UseInternalTask {
  NO = 0,
  YES = 1,
};

struct MessageProperties {
  uint8_t qos;
  bool dup;
  bool retain;
  uint16_t packetId;
};

typedef std::function<void(bool sessionPresent)> OnConnectCallback;
typedef std::function<void(DisconnectReason reason)> OnDisconnectCallback;
typedef std::function<void(const MessageProperties& properties, const char* topic, const uint8_t* payload, size_t len,
                           size_t index, size_t total)>
    OnMessageCallback;
typedef std::function<void(uint16_t packetId)> OnPublishCallback;

}  // namespace espMqttClientTypes

class MqttClient {
 public:
  virtual ~MqttClient();
  bool connected() const;
  bool disconnected() const;
  bool connect();
  bool disconnect(bool force = false);
  uint16_t subscribe(const char* topic, uint8_t qos);
  uint16_t publish(const char* topic, uint8_t qos, bool retain, const uint8_t* payload, size_t length);
  void clearQueue(bool deleteSessionData = false);
  void loop();

 protected:
  explicit MqttClient(espMqttClientTypes::UseInternalTask useInternalTask, uint8_t priority = 1, uint8_t core = 1);
};

template <typename T>
class MqttClientSetup : public MqttClient {
 public:
  T& setKeepAlive(uint16_t keepAlive);  // seconds
  T& setClientId(const char* clientId);
  T& setCleanSession(bool cleanSession);
  T& setCredentials(const char* username, const char* password);
  T& setWill(const char* topic, uint8_t qos, bool retain, const char* payload);
  T& setServer(const char* host, uint16_t port);
  T& onConnect(espMqttClientTypes::OnConnectCallback callback, uint32_t id = 0);
  T& onDisconnect(espMqttClientTypes::OnDisconnectCallback callback, uint32_t id = 0);
  T& onMessage(espMqttClientTypes::OnMessageCallback callback, uint32_t id = 0);
  T& onPublish(espMqttClientTypes::OnPublishCallback callback, uint32_t id = 0);

 protected:
  explicit MqttClientSetup(espMqttClientTypes::UseInternalTask useInternalTask, uint8_t priority = 1, uint8_t core = 1)
      : MqttClient(useInternalTask, priority, core) {}
};

class espMqttClient : public MqttClientSetup<espMqttClient> {
 public:
  explicit espMqttClient(espMqttClientTypes::UseInternalTask useInternalTask);
  explicit espMqttClient(uint8_t priority = 1, uint8_t core = 1);
};

class espMqttClientSecure : public MqttClientSetup<espMqttClientSecure> {
 public:
  explicit espMqttClientSecure(espMqttClientTypes::UseInternalTask useInternalTask);
  explicit espMqttClientSecure(uint8_t priority = 1, uint8_t core = 1);
  espMqttClientSecure& setCACert(const char* rootCA);
};
