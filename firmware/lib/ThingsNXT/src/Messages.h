// Request bodies and response contents of the device API, written and read
// through the JSON interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "Board.h"
#include "Json.h"
#include "OfflineBuffer.h"
#include "PinMap.h"
#include "Reading.h"

namespace thingsnxt {

// The device's health for the dashboard (the API guide's "device" object).
struct HealthReport {
  const char* firmwareVersion = "";
  bool hasRssi = false;
  int32_t rssi = 0;
  uint32_t heapFree = 0;
  uint32_t heapMin = 0;
  uint32_t heapMaxBlock = 0;
  uint64_t uptimeS = 0;
  ResetReason resetReason = ResetReason::Unknown;
  const char* transport = "http";
};

// The boot id as the API carries it: 8 lowercase hex characters.
std::string formatBootId(uint32_t boot);

// {"device_token": "…", "seq": 41, "boot": "9f3a07c2", "ts": "<ISO-8601>",
//  "data": {"v0": 1, "temperature": 25.5}, "device": {…}}
// ts only once the wall clock is known; device only when `report` is given;
// no device_token when `token` is empty (MQTT, where the broker authenticated the device).
std::string telemetryBody(JsonWriter& json, const std::string& token, const Reading& reading,
                          const HealthReport* report = nullptr);

// {"device_token": "…", "records": [{"ts": "<ISO-8601>", "seq": 40, "boot": "…", "data": {…}}, …]}
// for the `count` oldest readings in `buffer`, which must all have a time.
std::string batchBody(JsonWriter& json, const std::string& token, const OfflineBuffer& buffer, size_t count);

// POST /devices/provision: {"provisioning_key", "provisioning_secret", "hardware_id", "name"?}
std::string provisioningBody(JsonWriter& json, const std::string& key, const std::string& secret,
                             const std::string& hardwareId, const std::string& name);

// {"device_id": "…", "device_token": "…"}; false unless both are well-formed.
struct Credentials {
  std::string deviceId;
  std::string deviceToken;
};
bool readCredentials(JsonReader& json, const std::string& body, Credentials& credentials);

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

// A reading as the platform names it in a receipt or a refusal: its boot and seq.
struct ReadingId {
  uint32_t boot = 0;
  uint64_t seq = 0;
  bool names(const Reading& reading) const { return reading.boot == boot && reading.seq == seq; }
};

// The readings named under `key` of the object `json` parsed last: a
// receipt's {"stored": [["9f3a07c2", 41], …]} or a refusal's "readings".
// Elements that name no reading of this firmware's (a boot not 8 hex digits,
// a seq not a whole number) are left out.
std::vector<ReadingId> readReadingIds(const JsonReader& json, const char* key);

// {"accepted": n, "duplicates": m}
struct BatchResult {
  int32_t accepted = 0;
  int32_t duplicates = 0;
};
BatchResult readBatchResult(JsonReader& json, const std::string& body);

}  // namespace thingsnxt
