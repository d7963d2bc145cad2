#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "NlohmannJson.h"
#include "ThingsNXT.h"

using namespace thingsnxt;
using nlohmann::json;

TEST_CASE("timestamps are UTC ISO-8601 with milliseconds, like the server's") {
  CHECK(formatIsoUtc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(formatIsoUtc(1795799400123ull) == "2026-11-27T17:10:00.123Z");
  CHECK(formatIsoUtc(1709164800000ull) == "2024-02-29T00:00:00.000Z");  // leap day
  CHECK(formatIsoUtc(1735689599999ull) == "2024-12-31T23:59:59.999Z");
}

TEST_CASE("a reading keeps typed values and rejects what the server would refuse") {
  Reading reading;
  CHECK(reading.add("v0", int32_t{1}));
  CHECK(reading.add("temperature", 25.5));
  CHECK(reading.add("door_open", true));
  CHECK(reading.add("v0", int32_t{0}));  // replaces, does not duplicate
  CHECK(reading.size() == 3);
  CHECK_FALSE(reading.add("9lives", int32_t{9}));
  CHECK_FALSE(reading.add("a_key_that_is_too_long_for_the_buffer", int32_t{1}));
  CHECK(reading.add("k4", int32_t{4}));
  CHECK(reading.add("k5", int32_t{5}));
  CHECK(reading.add("k6", int32_t{6}));
  CHECK_FALSE(reading.add("k7", int32_t{7}));  // full
  CHECK(reading.describe() == "v0=0 temperature=25.5 door_open=true k4=4 k5=5 k6=6");
}

TEST_CASE("telemetry body carries the token, seq, boot and the reading with its JSON types") {
  NlohmannJsonWriter writer;
  Reading reading;
  reading.seq = 41;
  reading.boot = 0x9f3a07c2;
  reading.add("v0", int32_t{1});
  reading.add("temperature", 25.5);
  reading.add("door_open", false);
  const json body = json::parse(telemetryBody(writer, "secret-token-value", reading));
  CHECK(body == json::parse(R"({"device_token":"secret-token-value","seq":41,"boot":"9f3a07c2",
                                "data":{"v0":1,"temperature":25.5,"door_open":false}})"));
  CHECK(body["data"]["v0"].is_number_integer());

  reading.takenAtEpochMs = 1795799400123ull;  // once NTP has set the clock, ts too
  reading.seq = 5000000000ull;               // beyond 32 bits
  CHECK(json::parse(telemetryBody(writer, "t", reading))["ts"] == "2026-11-27T17:10:00.123Z");
  CHECK(json::parse(telemetryBody(writer, "t", reading))["seq"] == 5000000000ull);
}

TEST_CASE("the health report is the API guide's device object") {
  NlohmannJsonWriter writer;
  Reading reading;
  HealthReport report;
  report.firmwareVersion = "1.4.0";
  report.hasRssi = true;
  report.rssi = -61;
  report.heapFree = 181234;
  report.heapMin = 150000;
  report.heapMaxBlock = 110000;
  report.uptimeS = 3600;
  report.resetReason = ResetReason::Watchdog;
  const json body = json::parse(telemetryBody(writer, "t", reading, &report));
  CHECK(body["device"] == json::parse(R"({"fw":"1.4.0","rssi":-61,"heap_free":181234,"heap_min":150000,
      "heap_max_block":110000,"uptime_s":3600,"reset_reason":"watchdog","transport":"http"})"));
  report.hasRssi = false;
  CHECK_FALSE(json::parse(telemetryBody(writer, "t", reading, &report))["device"].contains("rssi"));
  CHECK(resetReasonName(ResetReason::Brownout) == std::string("brownout"));
  CHECK(resetReasonName(static_cast<ResetReason>(200)) == std::string("unknown"));
}

TEST_CASE("the provisioning body and answer") {
  NlohmannJsonWriter writer;
  NlohmannJsonReader reader;
  CHECK(json::parse(provisioningBody(writer, "k", "s", "a4cf12345678", "")) ==
        json::parse(R"({"provisioning_key":"k","provisioning_secret":"s","hardware_id":"a4cf12345678"})"));
  Credentials credentials;
  CHECK(readCredentials(reader, R"({"device_id":"0123456789abcdef01234567","device_token":"abcdefghijklmnop-_12"})",
                        credentials));
  CHECK(credentials.deviceId == "0123456789abcdef01234567");
  CHECK_FALSE(readCredentials(reader, R"({"device_id":"../etc","device_token":"abcdefghijklmnop-_12"})", credentials));
  CHECK_FALSE(readCredentials(reader, R"({"device_id":"0123456789abcdef01234567","device_token":"short"})", credentials));
  CHECK_FALSE(readCredentials(reader, "<html>", credentials));
}

TEST_CASE("batch body sends the oldest readings with the time each was taken") {
  NlohmannJsonWriter writer;
  OfflineBuffer buffer(4);
  for (int i = 0; i < 3; ++i) {
    Reading reading;
    reading.takenAtEpochMs = 1795799400000ull + i * 10000;
    reading.seq = 100 + static_cast<uint64_t>(i);
    reading.boot = 0xdeadbeef;
    reading.add("n", int32_t{i});
    buffer.push(reading);
  }
  const json body = json::parse(batchBody(writer, "tok", buffer, 2));
  CHECK(body["device_token"] == "tok");
  REQUIRE(body["records"].size() == 2);
  CHECK(body["records"][0] ==
        json::parse(R"({"ts":"2026-11-27T17:10:00.000Z","seq":100,"boot":"deadbeef","data":{"n":0}})"));
  CHECK(body["records"][1] ==
        json::parse(R"({"ts":"2026-11-27T17:10:10.000Z","seq":101,"boot":"deadbeef","data":{"n":1}})"));
}

TEST_CASE("desired pin values are read from the response's data") {
  NlohmannJsonReader reader;
  PinMap pins;
  pins.bind("v0", 2);
  pins.bind("v1", 4);
  pins.bind("relay", 5);

  auto desired = [&](const char* body) {
    REQUIRE(reader.parse(body));
    return readDesiredPins(reader, pins);
  };
  DesiredPins numbers = desired(R"({"data":{"v0":1,"v1":0,"temperature":21.5}})");
  CHECK(numbers.value[0] == 1);
  CHECK(numbers.value[1] == 0);
  CHECK(numbers.value[2] == -1);  // not in the state: leave the pin alone

  DesiredPins mixed = desired(R"({"data":{"v0":true,"v1":"on","relay":0.0}})");
  CHECK(mixed.value[0] == 1);
  CHECK(mixed.value[1] == 1);
  CHECK(mixed.value[2] == 0);

  DesiredPins junk = desired(R"({"data":{"v0":"maybe","v1":null,"relay":[1]}})");
  CHECK(junk.value[0] == -1);
  CHECK(junk.value[1] == -1);
  CHECK(junk.value[2] == -1);

  CHECK_FALSE(reader.parse("not json"));
  CHECK_FALSE(reader.parse("[1,2]"));
}

TEST_CASE("error bodies and batch results are read, and garbage gives empty values") {
  NlohmannJsonReader reader;
  ServerError denied = readServerError(reader, R"({"error":"rule_denied","message":"v0 out of range","rule":"range"})");
  CHECK(denied.code == "rule_denied");
  CHECK(denied.rule == "range");
  CHECK(denied.message == "v0 out of range");
  CHECK(readServerError(reader, "<html>Bad Gateway</html>").code.empty());

  BatchResult result = readBatchResult(reader, R"({"accepted":3,"duplicates":2})");
  CHECK(result.accepted == 3);
  CHECK(result.duplicates == 2);
  CHECK(readBatchResult(reader, "").accepted == 0);
}
