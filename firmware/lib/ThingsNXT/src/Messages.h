// Request bodies and response contents of the device API, written and read
// through the JSON interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "Json.h"
#include "OfflineBuffer.h"
#include "PinMap.h"
#include "Reading.h"

namespace thingsnxt {

// {"device_token": "…", "data": {"v0": 1, "temperature": 25.5}}
std::string telemetryBody(JsonWriter& json, const std::string& token, const Reading& reading);

// {"device_token": "…", "records": [{"ts": "<ISO-8601>", "data": {…}}, …]}
// for the `count` oldest readings in `buffer`, which must all have a time.
std::string batchBody(JsonWriter& json, const std::string& token, const OfflineBuffer& buffer, size_t count);

// The state in a response's "data" for each bound pin: 1 on, 0 off, -1 when
// the response does not say (or says something that is not a switch value).
struct DesiredPins {
  int8_t value[kMaxPins];
};
DesiredPins readDesiredPins(const JsonReader& json, const PinMap& pins);

// {"error": "invalid_token", "message": "…", "rule": "…"}; empty members when
// the body is not such an object.
struct ServerError {
  std::string code;
  std::string message;
  std::string rule;
};
ServerError readServerError(JsonReader& json, const std::string& body);

// {"accepted": n, "duplicates": m}
struct BatchResult {
  int32_t accepted = 0;
  int32_t duplicates = 0;
};
BatchResult readBatchResult(JsonReader& json, const std::string& body);

}  // namespace thingsnxt
