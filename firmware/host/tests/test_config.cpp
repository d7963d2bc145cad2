#include <doctest/doctest.h>

#include "ThingsNXT.h"

using namespace thingsnxt;

TEST_CASE("device ids are the server's 24 lowercase hex characters") {
  CHECK(isValidDeviceId("0123456789abcdef01234567"));
  CHECK_FALSE(isValidDeviceId("0123456789ABCDEF01234567"));  // upper case
  CHECK_FALSE(isValidDeviceId("0123456789abcdef0123456"));   // 23
  CHECK_FALSE(isValidDeviceId("0123456789abcdef0123456g"));
  CHECK_FALSE(isValidDeviceId(""));
}

TEST_CASE("tokens are url-safe strings") {
  CHECK(isValidDeviceToken("Zm9vYmFyLWJhei1xdXV4X2NvcmdlLWdyYXVsdC1nYXJwbHk"));
  CHECK(isValidDeviceToken("abc-def_ghi-jkl_mno"));
  CHECK_FALSE(isValidDeviceToken("short"));
  CHECK_FALSE(isValidDeviceToken("has space in the token value"));
  CHECK_FALSE(isValidDeviceToken("slash/and+plus/are/not/url/safe"));
}

TEST_CASE("telemetry keys follow the server's pattern") {
  CHECK(isValidTelemetryKey("v0"));
  CHECK(isValidTelemetryKey("_private.sensor-1"));
  CHECK_FALSE(isValidTelemetryKey(""));
  CHECK_FALSE(isValidTelemetryKey("0v"));
  CHECK_FALSE(isValidTelemetryKey("with space"));
  CHECK(isValidTelemetryKey(std::string(64, 'k').c_str()));
  CHECK_FALSE(isValidTelemetryKey(std::string(65, 'k').c_str()));
}

TEST_CASE("plain HTTP is accepted only for development hosts") {
  CHECK(classifyBaseUrl("https://iot.example.com") == UrlSecurity::Https);
  CHECK(classifyBaseUrl("https://iot.example.com:8443/api/") == UrlSecurity::Https);
  CHECK(classifyBaseUrl("http://localhost:5000") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://127.0.0.1:5000") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://192.168.1.20") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://10.0.0.5/") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://172.20.1.1") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://raspberrypi.local:5000") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://172.32.0.1") == UrlSecurity::PublicHttp);
  CHECK(classifyBaseUrl("http://iot.example.com") == UrlSecurity::PublicHttp);
  CHECK(classifyBaseUrl("http://192.168.1.300") == UrlSecurity::PublicHttp);  // not an address: a name
  CHECK(classifyBaseUrl("ftp://iot.example.com") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("https://") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("iot.example.com") == UrlSecurity::Invalid);
}

TEST_CASE("a masked token shows only its ends") {
  const std::string token = "abcdEFGHijklMNOPqrstUVWXyz0123456789-_ABCDE";
  const std::string masked = maskToken(token);
  CHECK(masked == "abcd...BCDE (43 chars)");
  CHECK(masked.find("EFGH") == std::string::npos);
  CHECK(maskToken("") == "(not set)");
}

TEST_CASE("endpoint URLs follow the API guide") {
  const ApiUrls urls("https://iot.example.com/", "0123456789abcdef01234567");
  CHECK(urls.telemetry() == "https://iot.example.com/devices/0123456789abcdef01234567/telemetry");
  CHECK(urls.batch() == "https://iot.example.com/devices/0123456789abcdef01234567/telemetry/batch");
  CHECK(urls.latestState(0) == "https://iot.example.com/telemetry/latest");
  CHECK(urls.latestState(25) == "https://iot.example.com/telemetry/latest?wait=25");
  CHECK(urls.health() == "https://iot.example.com/health");
  CHECK(ApiUrls("http://10.0.0.2/iot", "x").health() == "http://10.0.0.2/iot/health");
}
