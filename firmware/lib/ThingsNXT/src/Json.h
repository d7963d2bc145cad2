// The small JSON interface the protocol code is written against. The device
// implements it with ArduinoJson 7, the host with nlohmann::json, so request
// bodies and response parsing are the same code on both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace thingsnxt {

// Missing covers an absent member and JSON null alike: the protocol treats
// both as "no value".
enum class JsonType { Missing, Bool, Number, String, Other };

struct JsonValue {
  JsonType type = JsonType::Missing;
  bool boolean = false;
  double number = 0;
  std::string text;
};

// One ["text", number] element of an array, such as a receipt's ["<boot>", <seq>].
struct JsonPair {
  std::string text;
  double number = 0;
};

class JsonReader {
 public:
  virtual ~JsonReader() = default;
  // Parses `body`; false unless it is a JSON object. Later lookups read it.
  virtual bool parse(const std::string& body) = 0;
  // A member of the top-level object.
  virtual JsonValue member(const char* key) const = 0;
  // A member of the object stored under `parent` in the top-level object.
  virtual JsonValue member(const char* parent, const char* key) const = 0;
  // The ["text", number] elements of the array under `key` in the top-level
  // object, in order; elements of another shape are left out.
  virtual std::vector<JsonPair> pairs(const char* key) const = 0;
};

// Builds one JSON object top-down, like a stream: open containers are closed
// in reverse order. A nullptr key adds to the innermost open array.
class JsonWriter {
 public:
  virtual ~JsonWriter() = default;
  virtual void begin() = 0;  // starts a new, empty top-level object
  virtual void openObject(const char* key) = 0;
  virtual void openArray(const char* key) = 0;
  virtual void close() = 0;
  virtual void add(const char* key, const char* value) = 0;
  virtual void add(const char* key, int32_t value) = 0;
  virtual void add(const char* key, uint64_t value) = 0;  // seq: beyond 32 bits in principle
  virtual void add(const char* key, double value) = 0;
  virtual void add(const char* key, bool value) = 0;
  virtual std::string finish() = 0;  // the serialized document
};

}  // namespace thingsnxt
