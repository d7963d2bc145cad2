// What a builder adapts to a board: the LED pin map, the sensors, the
// intervals and the buffer size. Credentials are not here: they are
// provisioned over serial and kept in Preferences.
#pragma once

#include <ThingsNXT.h>

#include "root_ca.h"

namespace board {

constexpr char kFirmwareVersion[] = "1.1.0";
constexpr unsigned long kSerialBaud = 115200;
// A pasted PEM certificate is about 2 KB and arrives faster than loop()
// reads it while a request is under way; the default RX buffer is 256 bytes.
constexpr size_t kSerialRxBufferBytes = 4096;
constexpr char kNtpServer[] = "pool.ntp.org";
constexpr char kNtpFallbackServer[] = "time.google.com";
// The transport: "" talks HTTP to the server (`set url`); a broker URL,
// mqtts://host[:8883] (mqtt:// for a development broker only), talks MQTT to
// the platform's broker with the same id and token (docs/MQTT.md). `set url`
// is still needed over MQTT: firmware images download over HTTP.
constexpr char kMqttBrokerUrl[] = "";

struct PinConfig {
  const char* key;  // the state key that drives the pin
  int gpio;
  bool activeHigh;  // false for an LED wired from VCC to the pin
};

// GPIO 2 is the blue on-board LED of most ESP32 DevKit boards.
constexpr PinConfig kPinMap[] = {
    {"v0", 2, true},
    {"v1", 4, true},
};

inline thingsnxt::ClientSettings clientSettings() {
  thingsnxt::ClientSettings settings;
  settings.telemetryIntervalMs = 10000;
  settings.pollIntervalMs = 5000;   // when the server does not hold long-polls
  settings.healthIntervalMs = 60000;
  settings.longPollMaxSeconds = 25;  // the server allows up to 30
  settings.requestTimeoutMs = 10000;
  settings.backoffBaseMs = 1000;
  settings.backoffCapMs = 60000;
  settings.bufferCapacity = 120;  // 20 minutes of readings at 10 s: about 29 KB of RAM and 120 NVS records
  settings.batchSize = 25;
  settings.credentialRetryBaseMs = 60000;     // after 401/403/404: 1 min doubling …
  settings.credentialRetryCapMs = 3600000;    // … up to 1 h, /health first
  settings.refusalsBeforeReprovisioning = 3;  // with a fleet key: then ask for new credentials
  settings.healthReportIntervalMs = 60000;
  settings.sequenceBlock = 100;  // one NVS write per 100 readings for the seq counter
  settings.mqttKeepAliveS = 30;  // over MQTT: a dead connection is noticed within 45 s
  settings.defaultRootCaPem = kRootCaPem;
  settings.firmwareVersion = kFirmwareVersion;
  return settings;
}

inline thingsnxt::OtaSettings otaSettings() {
  thingsnxt::OtaSettings settings;
  settings.chunkBytes = 16384;  // one Range request, and the longest the loop waits for OTA: ~16 KB of RAM while it runs
  settings.progressEveryBytes = 131072;
  settings.requestTimeoutMs = 15000;
  settings.maxFailures = 10;
  settings.confirmWithinMs = 300000;  // a new image has 5 minutes to reach the server, else it is rolled back
  return settings;
}

}  // namespace board
