#pragma once

#include <Preferences.h>
#include <ThingsNXT.h>

// The provisioned configuration in NVS, namespace "iot-config". Survives
// reboots and firmware updates; `set …` over serial writes it.
class PreferencesConfigStore : public thingsnxt::ConfigStore {
 public:
  bool load(thingsnxt::DeviceConfig& config) override {
    Preferences prefs;
    if (!prefs.begin(kNamespace, /*readOnly=*/true)) return false;  // first boot: nothing saved yet
    config.deviceId = read(prefs, "device_id");
    config.deviceToken = read(prefs, "device_token");
    config.apiBaseUrl = read(prefs, "api_base_url");
    config.wifiSsid = read(prefs, "wifi_ssid");
    config.wifiPassword = read(prefs, "wifi_pass");
    config.rootCaPem = read(prefs, "root_ca");
    config.provisioningKey = read(prefs, "prov_key");
    config.provisioningSecret = read(prefs, "prov_secret");
    config.serverKeyPin = read(prefs, "key_pin");
    config.debugLevel = prefs.getUChar("debug", 1);
    prefs.end();
    return true;
  }

  bool save(const thingsnxt::DeviceConfig& config) override {
    Preferences prefs;
    if (!prefs.begin(kNamespace, /*readOnly=*/false)) return false;
    bool saved = write(prefs, "device_id", config.deviceId);
    saved = write(prefs, "device_token", config.deviceToken) && saved;
    saved = write(prefs, "api_base_url", config.apiBaseUrl) && saved;
    saved = write(prefs, "wifi_ssid", config.wifiSsid) && saved;
    saved = write(prefs, "wifi_pass", config.wifiPassword) && saved;
    saved = write(prefs, "root_ca", config.rootCaPem) && saved;
    saved = write(prefs, "prov_key", config.provisioningKey) && saved;
    saved = write(prefs, "prov_secret", config.provisioningSecret) && saved;
    saved = write(prefs, "key_pin", config.serverKeyPin) && saved;
    saved = prefs.putUChar("debug", config.debugLevel) == 1 && saved;
    prefs.end();
    return saved;
  }

 private:
  static constexpr const char* kNamespace = "iot-config";

  // isKey() first: getString() on a missing key logs an NVS error.
  static std::string read(Preferences& prefs, const char* key) {
    return prefs.isKey(key) ? std::string(prefs.getString(key).c_str()) : std::string();
  }

  // putString() returns the bytes written, which is 0 for "" too: an empty
  // value is stored by removing the key.
  static bool write(Preferences& prefs, const char* key, const std::string& value) {
    if (value.empty()) {
      prefs.remove(key);
      return true;
    }
    return prefs.putString(key, value.c_str()) == value.size();
  }
};
