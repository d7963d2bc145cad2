// Declarations of the arduino-esp32 Preferences API the sketch uses (see README.md).
#pragma once

#include "Arduino.h"

class Preferences {
 public:
  Preferences();
  ~Preferences();
  bool begin(const char* name, bool readOnly = false, const char* partition_label = nullptr);
  void end();
  bool remove(const char* key);
  bool isKey(const char* key);
  size_t putUChar(const char* key, uint8_t value);
  size_t putBytes(const char* key, const void* value, size_t len);
  size_t getBytes(const char* key, void* buf, size_t maxLen);
  size_t getBytesLength(const char* key);
  size_t putString(const char* key, const char* value);
  size_t putString(const char* key, String value);
  uint8_t getUChar(const char* key, uint8_t defaultValue = 0);
  size_t getString(const char* key, char* value, size_t maxLen);
  String getString(const char* key, String defaultValue = String());
};
