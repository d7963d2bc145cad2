#pragma once

#include <ThingsNXT.h>
#include <WiFi.h>

// Keeps the station connected without ever waiting for it: WiFi.begin()
// returns at once, and while the link is down maintain() tries again every
// 5 s. The client meanwhile measures and buffers.
class WifiLink {
 public:
  explicit WifiLink(thingsnxt::Log& log) : log_(log) {}

  // (Re)starts joining the configured network.
  void begin(const thingsnxt::DeviceConfig& config) {
    ssid_ = config.wifiSsid;
    password_ = config.wifiPassword;
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(false);  // reconnecting is ours, on our rhythm
    WiFi.disconnect();
    connected_ = false;
    retry_.runNow();
    if (ssid_.empty()) log_.warn("no WiFi network set: `set wifi <ssid> <password>`");
  }

  // Call every loop; true while the station has an address.
  bool maintain(uint64_t nowMs) {
    const bool up = WiFi.status() == WL_CONNECTED;
    if (up != connected_) {
      connected_ = up;
      if (up) {
        log_.info("wifi: connected to %s as %s (RSSI %d dBm)", ssid_.c_str(), WiFi.localIP().toString().c_str(),
                  static_cast<int>(WiFi.RSSI()));
      } else {
        log_.warn("wifi: connection lost; retrying every %u s", static_cast<unsigned>(kRetryMs / 1000));
      }
    }
    if (!up && !ssid_.empty() && retry_.due(nowMs)) {
      retry_.runAfter(nowMs, kRetryMs);
      log_.debug("wifi: joining %s", ssid_.c_str());
      WiFi.disconnect();
      WiFi.begin(ssid_.c_str(), password_.c_str());
    }
    return up;
  }

 private:
  static constexpr uint32_t kRetryMs = 5000;

  thingsnxt::Log& log_;
  std::string ssid_;
  std::string password_;
  bool connected_ = false;
  thingsnxt::PeriodicTimer retry_;
};
