#pragma once

#include <Arduino.h>
#include <ThingsNXT.h>
#include <WiFi.h>
#include <esp_idf_version.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>
#include <sys/time.h>

#include <cstdio>

// The core's Board on the ESP32: the 64-bit microsecond timer (millis()
// wraps after 49 days), the clock NTP sets, the hardware random generator,
// the heap figures of the health report, the reset reason and the task
// watchdog.
class Esp32Board : public thingsnxt::Board {
 public:
  uint64_t monotonicMs() override { return static_cast<uint64_t>(esp_timer_get_time() / 1000); }

  uint64_t epochMs() override {
    timeval now;
    gettimeofday(&now, nullptr);
    // Until NTP answers, the clock counts from 1970.
    if (now.tv_sec < kFirstPlausibleEpoch) return 0;
    return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_usec / 1000);
  }

  uint32_t random32() override { return esp_random(); }
  uint32_t freeHeapBytes() override { return ESP.getFreeHeap(); }
  uint32_t minFreeHeapBytes() override { return ESP.getMinFreeHeap(); }
  uint32_t largestFreeBlockBytes() override { return ESP.getMaxAllocHeap(); }

  bool wifiRssi(int32_t& dbm) override {
    if (WiFi.status() != WL_CONNECTED) return false;
    dbm = WiFi.RSSI();
    return true;
  }

  thingsnxt::ResetReason resetReason() override {
    using thingsnxt::ResetReason;
    switch (esp_reset_reason()) {
      case ESP_RST_POWERON: return ResetReason::PowerOn;
      case ESP_RST_EXT: return ResetReason::External;
      case ESP_RST_SW: return ResetReason::Software;
      case ESP_RST_PANIC: return ResetReason::Panic;
      case ESP_RST_INT_WDT:
      case ESP_RST_TASK_WDT:
      case ESP_RST_WDT: return ResetReason::Watchdog;
      case ESP_RST_DEEPSLEEP: return ResetReason::DeepSleep;
      case ESP_RST_BROWNOUT: return ResetReason::Brownout;
      default: return ResetReason::Unknown;
    }
  }

  std::string hardwareId() override {
    uint8_t mac[6] = {};
    WiFi.macAddress(mac);
    char text[13];
    snprintf(text, sizeof text, "%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return text;
  }

  void feedWatchdog() override {
    if (watchdogStarted_) esp_task_wdt_reset();
  }

  // Subscribes the loop task to the task watchdog with `timeoutMs`
  // (thingsnxt::watchdogTimeoutMs: above the longest request, see
  // DeviceClient.h); a loop stuck longer panics and reboots, and the next
  // boot reports reset_reason "watchdog". arduino-esp32 3.x (IDF 5) has
  // already initialised the watchdog for the idle task, so it is
  // reconfigured; 2.x (IDF 4) takes seconds.
  bool startWatchdog(uint32_t timeoutMs) {
#if ESP_IDF_VERSION_MAJOR >= 5
    esp_task_wdt_config_t config = {};
    config.timeout_ms = timeoutMs;
    config.idle_core_mask = 1u << 0;  // core 0's idle task too: WiFi starving it is a hang as well
    config.trigger_panic = true;
    esp_err_t result = esp_task_wdt_reconfigure(&config);
    if (result == ESP_ERR_INVALID_STATE) result = esp_task_wdt_init(&config);
#else
    const esp_err_t result = esp_task_wdt_init(timeoutMs / 1000 + 1, true);
#endif
    watchdogStarted_ = result == ESP_OK && esp_task_wdt_add(nullptr) == ESP_OK;
    return watchdogStarted_;
  }

  void setPinOutput(int gpio) override { pinMode(gpio, OUTPUT); }
  void writePin(int gpio, bool high) override { digitalWrite(gpio, high ? HIGH : LOW); }

 private:
  static constexpr time_t kFirstPlausibleEpoch = 1700000000;  // November 2023
  bool watchdogStarted_ = false;
};
