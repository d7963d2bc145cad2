// The core's JSON interface on the device, with ArduinoJson 7. The host's
// twin is firmware/host/NlohmannJson.h; both are driven by the same core code.
#pragma once

#include <ArduinoJson.h>
#include <ThingsNXT.h>

#include <vector>

class ArduinoJsonReader : public thingsnxt::JsonReader {
 public:
  bool parse(const std::string& body) override {
    document_.clear();
    return !deserializeJson(document_, body.data(), body.size()) && document_.is<JsonObject>();
  }

  thingsnxt::JsonValue member(const char* key) const override { return convert(document_[key]); }

  thingsnxt::JsonValue member(const char* parent, const char* key) const override {
    return convert(document_[parent][key]);
  }

  std::vector<thingsnxt::JsonPair> pairs(const char* key) const override {
    std::vector<thingsnxt::JsonPair> found;
    for (JsonVariantConst element : document_[key].as<JsonArrayConst>()) {
      const JsonArrayConst pair = element.as<JsonArrayConst>();
      if (pair.size() == 2 && pair[0].is<const char*>() && pair[1].is<double>()) {
        found.push_back({pair[0].as<const char*>(), pair[1].as<double>()});
      }
    }
    return found;
  }

 private:
  static thingsnxt::JsonValue convert(JsonVariantConst value) {
    thingsnxt::JsonValue result;
    if (value.isNull()) return result;
    if (value.is<bool>()) {
      result.type = thingsnxt::JsonType::Bool;
      result.boolean = value.as<bool>();
    } else if (value.is<double>()) {  // integers too
      result.type = thingsnxt::JsonType::Number;
      result.number = value.as<double>();
    } else if (value.is<const char*>()) {
      result.type = thingsnxt::JsonType::String;
      result.text = value.as<const char*>();
    } else {
      result.type = thingsnxt::JsonType::Other;
    }
    return result;
  }

  JsonDocument document_;
};

// ArduinoJson may keep a `const char*` by pointer rather than copy it, and
// the core hands over temporaries (the `ts` string of a record), so keys and
// strings are passed as String, which ArduinoJson always copies.
class ArduinoJsonWriter : public thingsnxt::JsonWriter {
 public:
  void begin() override {
    document_.clear();
    open_.clear();
    open_.push_back(document_.to<JsonObject>());
  }

  void openObject(const char* key) override {
    open_.push_back(key ? open_.back()[String(key)].to<JsonObject>() : open_.back().add<JsonObject>());
  }

  void openArray(const char* key) override {
    open_.push_back(key ? open_.back()[String(key)].to<JsonArray>() : open_.back().add<JsonArray>());
  }

  void close() override { open_.pop_back(); }

  void add(const char* key, const char* value) override { put(key, String(value)); }
  void add(const char* key, int32_t value) override { put(key, value); }
  // ArduinoJson 7 stores 64-bit integers (ARDUINOJSON_USE_LONG_LONG is on by default).
  void add(const char* key, uint64_t value) override { put(key, value); }
  void add(const char* key, double value) override { put(key, value); }
  void add(const char* key, bool value) override { put(key, value); }

  std::string finish() override {
    String text;
    serializeJson(document_, text);
    return text.c_str();
  }

 private:
  template <typename T>
  void put(const char* key, const T& value) {
    if (key) {
      open_.back()[String(key)].set(value);
    } else {
      open_.back().add(value);
    }
  }

  JsonDocument document_;
  std::vector<JsonVariant> open_;  // the open containers, outermost first
};
