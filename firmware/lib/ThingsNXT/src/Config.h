// The device's provisioned settings (kept in Preferences namespace
// "iot-config" on the ESP32) and the rules a value must meet to be accepted.
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

struct DeviceConfig {
  std::string deviceId;
  std::string deviceToken;
  std::string apiBaseUrl;
  std::string wifiSsid;
  std::string wifiPassword;
  std::string rootCaPem;  // empty: the CA compiled into the firmware
  // A fleet key and secret: with these and no id/token the device obtains
  // its own credentials from POST /devices/provision (no serial cable).
  std::string provisioningKey;
  std::string provisioningSecret;
  // SHA-256 of the server's public key (SubjectPublicKeyInfo), 64 hex
  // characters; empty: the CA check alone (the default).
  std::string serverKeyPin;
  uint8_t debugLevel = 1;

  bool hasApiCredentials() const {
    return !deviceId.empty() && !deviceToken.empty() && !apiBaseUrl.empty();
  }
  bool canProvision() const {
    return !provisioningKey.empty() && !provisioningSecret.empty() && !apiBaseUrl.empty();
  }
};

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;
  virtual bool load(DeviceConfig& config) = 0;
  virtual bool save(const DeviceConfig& config) = 0;
};

// Server-issued ids are 24 lowercase hex characters.
bool isValidDeviceId(const std::string& id);
// Tokens are url-safe strings (about 43 characters from the server); a
// provisioning key and secret follow the same rule.
bool isValidDeviceToken(const std::string& token);
// Telemetry keys: ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$, as the server accepts them.
bool isValidTelemetryKey(const char* key);

// How a base URL may be used. Plain HTTP is for development servers only
// (loopback, private networks, .local names); a public host needs https.
// Parsed by parseUrl (Url.h): user info and the like make it Invalid.
enum class UrlSecurity { Https, DevelopmentHttp, PublicHttp, Invalid };
UrlSecurity classifyBaseUrl(const std::string& url);
// The same for a broker URL (mqtts:// is Https: TLS; mqtt:// to a public host is PublicHttp).
UrlSecurity classifyBrokerUrl(const std::string& url);

// "abcd…wxyz (43 chars)": enough to tell tokens apart, useless to an onlooker.
std::string maskToken(const std::string& token);

}  // namespace thingsnxt
