#include "Messages.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "Config.h"

#include "IsoTime.h"

namespace thingsnxt {

namespace {

void writeData(JsonWriter& json, const Reading& reading) {
  json.openObject("data");
  for (size_t i = 0; i < reading.size(); ++i) {
    const Field& field = reading.field(i);
    switch (field.kind) {
      case Field::Kind::Int: json.add(field.key, field.integer); break;
      case Field::Kind::Number: json.add(field.key, field.number); break;
      case Field::Kind::Bool: json.add(field.key, field.boolean); break;
    }
  }
  json.close();
}

// Switches are set by people and scripts: accept true/false, numbers, and
// the usual words, and leave anything else alone.
int8_t switchValue(const JsonValue& value) {
  switch (value.type) {
    case JsonType::Bool: return value.boolean ? 1 : 0;
    case JsonType::Number: return value.number != 0 ? 1 : 0;
    case JsonType::String:
      if (value.text == "1" || value.text == "on" || value.text == "true") return 1;
      if (value.text == "0" || value.text == "off" || value.text == "false") return 0;
      return -1;
    default: return -1;
  }
}

int32_t integerMember(const JsonReader& json, const char* key) {
  JsonValue value = json.member(key);
  return value.type == JsonType::Number ? static_cast<int32_t>(value.number) : 0;
}

void writeReport(JsonWriter& json, const HealthReport& report) {
  json.openObject("device");
  json.add("fw", report.firmwareVersion);
  if (report.hasRssi) json.add("rssi", report.rssi);
  json.add("heap_free", static_cast<uint64_t>(report.heapFree));
  json.add("heap_min", static_cast<uint64_t>(report.heapMin));
  json.add("heap_max_block", static_cast<uint64_t>(report.heapMaxBlock));
  json.add("uptime_s", report.uptimeS);
  json.add("reset_reason", resetReasonName(report.resetReason));
  json.add("transport", report.transport);
  json.close();
}

void writeIdentity(JsonWriter& json, const Reading& reading) {
  json.add("seq", reading.seq);
  json.add("boot", formatBootId(reading.boot).c_str());
}

}  // namespace

std::string formatBootId(uint32_t boot) {
  char text[9];
  snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(boot));
  return text;
}

std::string telemetryBody(JsonWriter& json, const std::string& token, const Reading& reading, const HealthReport* report) {
  json.begin();
  if (!token.empty()) json.add("device_token", token.c_str());  // MQTT: the broker authenticated the device
  writeIdentity(json, reading);
  if (reading.takenAtEpochMs != 0) json.add("ts", formatIsoUtc(reading.takenAtEpochMs).c_str());
  writeData(json, reading);
  if (report != nullptr) writeReport(json, *report);
  return json.finish();
}

std::string provisioningBody(JsonWriter& json, const std::string& key, const std::string& secret,
                             const std::string& hardwareId, const std::string& name) {
  json.begin();
  json.add("provisioning_key", key.c_str());
  json.add("provisioning_secret", secret.c_str());
  json.add("hardware_id", hardwareId.c_str());
  if (!name.empty()) json.add("name", name.c_str());
  return json.finish();
}

bool readCredentials(JsonReader& json, const std::string& body, Credentials& credentials) {
  if (!json.parse(body)) return false;
  credentials.deviceId = json.member("device_id").text;
  credentials.deviceToken = json.member("device_token").text;
  return isValidDeviceId(credentials.deviceId) && isValidDeviceToken(credentials.deviceToken);
}

std::string batchBody(JsonWriter& json, const std::string& token, const OfflineBuffer& buffer, size_t count) {
  json.begin();
  if (!token.empty()) json.add("device_token", token.c_str());  // MQTT: the broker authenticated the device
  json.openArray("records");
  for (size_t i = 0; i < count; ++i) {
    const Reading& reading = buffer.at(i);
    json.openObject(nullptr);
    json.add("ts", formatIsoUtc(reading.takenAtEpochMs).c_str());
    writeIdentity(json, reading);
    writeData(json, reading);
    json.close();
  }
  json.close();
  return json.finish();
}

DesiredPins readDesiredPins(const JsonReader& json, const PinMap& pins) {
  DesiredPins desired;
  memset(desired.value, -1, sizeof desired.value);
  for (size_t i = 0; i < pins.size(); ++i) desired.value[i] = switchValue(json.member("data", pins.at(i).key));
  return desired;
}

ServerError readServerError(JsonReader& json, const std::string& body) {
  ServerError error;
  if (!json.parse(body)) return error;
  error.code = json.member("error").text;
  error.message = json.member("message").text;
  error.rule = json.member("rule").text;
  return error;
}

std::vector<ReadingId> readReadingIds(const JsonReader& json, const char* key) {
  std::vector<ReadingId> ids;
  for (const JsonPair& pair : json.pairs(key)) {
    const std::string& boot = pair.text;
    const bool bootValid = boot.size() == 8 && std::all_of(boot.begin(), boot.end(), [](char c) {
                             return isxdigit(static_cast<unsigned char>(c)) != 0;
                           });
    const bool seqValid = pair.number >= 0 && pair.number < 9007199254740992.0 &&
                          pair.number == static_cast<double>(static_cast<uint64_t>(pair.number));
    if (!bootValid || !seqValid) continue;
    ids.push_back({static_cast<uint32_t>(strtoul(boot.c_str(), nullptr, 16)), static_cast<uint64_t>(pair.number)});
  }
  return ids;
}

BatchResult readBatchResult(JsonReader& json, const std::string& body) {
  BatchResult result;
  if (!json.parse(body)) return result;
  result.accepted = integerMember(json, "accepted");
  result.duplicates = integerMember(json, "duplicates");
  return result;
}

}  // namespace thingsnxt
