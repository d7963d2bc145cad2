// The core's JSON interface on the host, with nlohmann::json (Debian's
// nlohmann-json3-dev). The device's twin is ArduinoJsonAdapter.h.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "Json.h"

namespace thingsnxt {

class NlohmannJsonReader : public JsonReader {
 public:
  bool parse(const std::string& body) override;
  JsonValue member(const char* key) const override;
  JsonValue member(const char* parent, const char* key) const override;
  std::vector<JsonPair> pairs(const char* key) const override;

 private:
  nlohmann::json document_;
};

// ordered_json keeps members in the order written, as ArduinoJson does.
class NlohmannJsonWriter : public JsonWriter {
 public:
  void begin() override;
  void openObject(const char* key) override;
  void openArray(const char* key) override;
  void close() override;
  void add(const char* key, const char* value) override;
  void add(const char* key, int32_t value) override;
  void add(const char* key, uint64_t value) override;
  void add(const char* key, double value) override;
  void add(const char* key, bool value) override;
  std::string finish() override;

 private:
  nlohmann::ordered_json& child(const char* key);

  nlohmann::ordered_json document_;
  // The open containers, outermost first. Only the innermost one grows, so
  // the pointers to the outer ones stay valid.
  std::vector<nlohmann::ordered_json*> open_;
};

}  // namespace thingsnxt
