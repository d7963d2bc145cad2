// What the client needs from the hardware: clocks, randomness, heap and
// radio figures, the reset reason, the watchdog and the LED outputs. The sketch implements it for the ESP32, the host
// program for Linux, the unit tests with a fake whose time they move.
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

// Why the chip last started: reported to the server (the API guide's
// `reset_reason`) and logged at boot, so a watchdog or brownout reset is seen.
enum class ResetReason : uint8_t { PowerOn, Software, Panic, Watchdog, Brownout, DeepSleep, External, Unknown };
const char* resetReasonName(ResetReason reason);

class Board {
 public:
  virtual ~Board() = default;
  // Milliseconds since boot; never goes backwards, never wraps.
  virtual uint64_t monotonicMs() = 0;
  // Milliseconds since the Unix epoch, or 0 while the wall clock is unknown
  // (before the first NTP answer).
  virtual uint64_t epochMs() = 0;
  virtual uint32_t random32() = 0;
  virtual uint32_t freeHeapBytes() = 0;
  virtual uint32_t minFreeHeapBytes() = 0;       // the lowest the free heap has been since boot
  virtual uint32_t largestFreeBlockBytes() = 0;  // fragmentation: the biggest allocation that would succeed
  // The station's signal strength; false when not on WiFi (the host).
  virtual bool wifiRssi(int32_t& dbm) = 0;
  virtual ResetReason resetReason() = 0;
  // The WiFi MAC as 12 lowercase hex digits: the hardware_id of provisioning.
  virtual std::string hardwareId() = 0;
  // Tells the task watchdog the loop is alive (esp_task_wdt_reset on the
  // ESP32). The client calls it every tick and before every request.
  virtual void feedWatchdog() = 0;
  virtual void setPinOutput(int gpio) = 0;
  virtual void writePin(int gpio, bool high) = 0;
};

}  // namespace thingsnxt
