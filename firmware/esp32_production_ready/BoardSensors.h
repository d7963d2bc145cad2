// The sensor fields of each reading (the LED pins are added by the client).
// Replace or extend with the board's real sensors; keys must match
// ^[A-Za-z_][A-Za-z0-9_.-]*$ and be at most 15 characters.
#pragma once

#include <Arduino.h>
#include <ThingsNXT.h>
#include <WiFi.h>

#include <cmath>

class BoardSensors : public thingsnxt::SensorSource {
 public:
  void read(thingsnxt::Reading& reading) override {
    // The chip's own sensor runs warmer than the room, but it shows the whole
    // path working before any sensor is wired. One decimal is all it has.
    reading.add("temperature", std::round(temperatureRead() * 10.0) / 10.0);
    reading.add("rssi", static_cast<int32_t>(WiFi.RSSI()));
  }
};
