// The per-device reading counter (`seq` in every reading, see the API guide):
// +1 per reading, never reused after a reboot. Flash wears out, so it is not
// written per reading: the store keeps the end of a reserved block, a reboot
// starts at that end (skipping what the last boot left unused), and a new
// block is reserved when one runs out.
#pragma once

#include <cstdint>

#include "Storage.h"

namespace thingsnxt {

class SequenceCounter {
 public:
  // `store` may be null: then the counter starts at 0 at every boot (the
  // boot id still tells the boots apart).
  SequenceCounter(RecordStore* store, uint32_t blockSize) : store_(store), blockSize_(blockSize ? blockSize : 1) {}

  // Reads the reserved end left by the last boot and starts there.
  void begin();
  // The next number. Reserves the next block first when this one is used up;
  // if that write fails the number is still issued (a reading is never held
  // back for flash): after a reboot the counter may then repeat numbers, but
  // under a new boot id, so the server cannot take them for duplicates.
  uint64_t next();

  uint64_t peek() const { return next_; }
  uint32_t reservationWrites() const { return reservationWrites_; }
  uint32_t failedWrites() const { return failedWrites_; }

 private:
  bool reserve(uint64_t end);

  RecordStore* store_;
  uint32_t blockSize_;
  uint64_t next_ = 0;
  uint64_t reservedEnd_ = 0;
  uint32_t reservationWrites_ = 0;
  uint32_t failedWrites_ = 0;
};

}  // namespace thingsnxt
