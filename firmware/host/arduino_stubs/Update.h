// Declarations of the arduino-esp32 Update library the OTA adapter uses (see README.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "Arduino.h"

class UpdateClass {
 public:
  bool begin(size_t size, int command = 0, int ledPin = -1, uint8_t ledOn = 0, const char* label = nullptr);
  size_t write(uint8_t* data, size_t len);
  bool end(bool evenIfRemaining = false);
  void abort();
  bool hasError();
  const char* errorString();
};
extern UpdateClass Update;
