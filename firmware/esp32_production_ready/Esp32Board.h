#pragma once

#include <Arduino.h>
#include <ThingsNXT.h>
#include <esp_timer.h>
#include <sys/time.h>

// The core's Board on the ESP32: the 64-bit microsecond timer (millis()
// wraps after 49 days), the clock NTP sets, the hardware random generator.
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
  void setPinOutput(int gpio) override { pinMode(gpio, OUTPUT); }
  void writePin(int gpio, bool high) override { digitalWrite(gpio, high ? HIGH : LOW); }

 private:
  static constexpr time_t kFirstPlausibleEpoch = 1700000000;  // November 2023
};
