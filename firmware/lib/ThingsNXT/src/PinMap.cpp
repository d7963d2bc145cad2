#include "PinMap.h"

#include <cstring>

#include "Config.h"

namespace thingsnxt {

bool PinMap::bind(const char* key, int gpio, bool activeHigh) {
  if (count_ == kMaxPins || strlen(key) > kMaxFieldKeyLength || !isValidTelemetryKey(key)) return false;
  PinBinding& pin = bindings_[count_++];
  strcpy(pin.key, key);
  pin.gpio = gpio;
  pin.activeHigh = activeHigh;
  pin.on = false;
  return true;
}

void PinMap::begin(Board& board) {
  for (size_t i = 0; i < count_; ++i) {
    board.setPinOutput(bindings_[i].gpio);
    write(bindings_[i], board);
  }
}

bool PinMap::set(size_t index, bool on, Board& board) {
  PinBinding& pin = bindings_[index];
  if (pin.on == on) return false;
  pin.on = on;
  write(pin, board);
  return true;
}

void PinMap::write(const PinBinding& pin, Board& board) const { board.writePin(pin.gpio, pin.on == pin.activeHigh); }

}  // namespace thingsnxt
