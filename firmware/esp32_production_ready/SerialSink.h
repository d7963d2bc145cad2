#pragma once

#include <Arduino.h>
#include <ThingsNXT.h>

// Log lines and console replies go to the serial monitor.
class SerialSink : public thingsnxt::TextSink {
 public:
  void writeLine(const char* line) override { Serial.println(line); }
};
