// What a builder adapts to a board: the LED pin map, the sensors, the
// intervals and the buffer size. Credentials are not here: they are
// provisioned over serial and kept in Preferences.
#pragma once

#include <ThingsNXT.h>

#include "root_ca.h"

namespace board {

constexpr char kFirmwareVersion[] = "1.0.0";
constexpr unsigned long kSerialBaud = 115200;
constexpr char kNtpServer[] = "pool.ntp.org";
constexpr char kNtpFallbackServer[] = "time.google.com";

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
  settings.bufferCapacity = 120;  // 20 minutes of readings at 10 s, about 25 KB of RAM
  settings.batchSize = 25;
  settings.defaultRootCaPem = kRootCaPem;
  return settings;
}

}  // namespace board
