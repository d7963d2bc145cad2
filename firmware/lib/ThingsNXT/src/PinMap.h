// Which state keys drive which GPIOs (v0, v1 → LEDs by default), and the
// value each output has now: that applied value is what the device reports.
#pragma once

#include <cstddef>
#include <cstdint>

#include "Board.h"
#include "Reading.h"

namespace thingsnxt {

constexpr size_t kMaxPins = 4;

struct PinBinding {
  char key[kMaxFieldKeyLength + 1];
  int gpio;
  bool activeHigh;  // false for LEDs wired to VCC (lit when the pin is LOW)
  bool on;
};

class PinMap {
 public:
  // False when the map is full or the key is not a valid telemetry key.
  bool bind(const char* key, int gpio, bool activeHigh = true);
  // Makes every bound pin an output and switches it off.
  void begin(Board& board);
  // Drives pin `index`; true when that changed its state.
  bool set(size_t index, bool on, Board& board);

  size_t size() const { return count_; }
  const PinBinding& at(size_t index) const { return bindings_[index]; }

 private:
  void write(const PinBinding& pin, Board& board) const;

  PinBinding bindings_[kMaxPins];
  size_t count_ = 0;
};

}  // namespace thingsnxt
