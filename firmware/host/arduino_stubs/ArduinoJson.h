// Declarations of the ArduinoJson 7 API the sketch uses (see README.md).
// In the library, operator[] returns a MemberProxy; it offers the same
// to<>(), set() and conversions as the JsonVariant declared here.
#pragma once

#include "Arduino.h"

class JsonObject;
class JsonArray;
class JsonVariantConst;

class JsonArrayConst {
 public:
  const JsonVariantConst* begin() const;
  const JsonVariantConst* end() const;
  size_t size() const;
  JsonVariantConst operator[](size_t index) const;
};

class JsonVariantConst {
 public:
  bool isNull() const;
  template <typename T>
  bool is() const;
  template <typename T>
  T as() const;
  JsonVariantConst operator[](const char* key) const;
};

class JsonVariant {
 public:
  template <typename T>
  T to() const;
  template <typename T>
  T add() const;
  template <typename T>
  bool add(const T& value) const;
  template <typename T>
  bool set(const T& value) const;
  JsonVariant operator[](const String& key) const;
};

class JsonObject {
 public:
  operator JsonVariant() const;
};

class JsonArray {
 public:
  operator JsonVariant() const;
};

class JsonDocument {
 public:
  JsonDocument();
  void clear();
  template <typename T>
  T to();
  template <typename T>
  bool is() const;
  JsonVariantConst operator[](const char* key) const;
};

class DeserializationError {
 public:
  explicit operator bool() const;
  const char* c_str() const;
};

DeserializationError deserializeJson(JsonDocument& document, const char* input, size_t inputSize);
size_t serializeJson(const JsonDocument& document, String& output);
