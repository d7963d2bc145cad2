// The core's MqttTransport on the host, with libmosquitto (Debian's
// libmosquitto-dev), MQTT 3.1.1 as on the ESP32 (Esp32Mqtt.h). Driven from
// the program's loop, no thread of its own: poll() runs mosquitto_loop()
// without waiting, and the library's callbacks queue the events poll() hands
// out. Every connect() starts from a new client, so nothing the library kept
// of an earlier connection is sent again behind the core's back: the core
// decides what to re-send (its offline buffer).
#pragma once

#include <deque>
#include <string>

#include "Mqtt.h"

struct mosquitto;
struct mosquitto_message;

namespace thingsnxt {

class MosquittoMqttTransport : public MqttTransport {
 public:
  MosquittoMqttTransport();
  ~MosquittoMqttTransport() override;
  MosquittoMqttTransport(const MosquittoMqttTransport&) = delete;
  MosquittoMqttTransport& operator=(const MosquittoMqttTransport&) = delete;

  void setRootCa(const std::string& pem) override;
  bool connect(const MqttConnectOptions& options) override;
  void disconnect() override;
  uint16_t publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain) override;
  bool subscribe(const std::string& topic, uint8_t qos) override;
  bool poll(MqttEvent& event) override;
  std::string lastError() const override { return error_; }

 private:
  static void onConnect(mosquitto* client, void* self, int code);
  static void onDisconnect(mosquitto* client, void* self, int code);
  static void onPublish(mosquitto* client, void* self, int messageId);
  static void onMessage(mosquitto* client, void* self, const mosquitto_message* message);
  void ended(MqttEvent::Type type, bool notAuthorized, const std::string& detail);
  bool failed(const char* what, int code);
  void release();

  mosquitto* client_ = nullptr;
  bool live_ = false;  // connecting or connected; false once the end was reported
  std::deque<MqttEvent> events_;
  std::string caFile_;  // the root CA written out: libmosquitto reads it from a file
  std::string error_;
};

}  // namespace thingsnxt
