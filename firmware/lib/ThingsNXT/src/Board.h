// What the client needs from the hardware: clocks, randomness, heap figure
// and the LED outputs. The sketch implements it for the ESP32, the host
// program for Linux, the unit tests with a fake whose time they move.
#pragma once

#include <cstdint>

namespace thingsnxt {

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
  virtual void setPinOutput(int gpio) = 0;
  virtual void writePin(int gpio, bool high) = 0;
};

}  // namespace thingsnxt
