#include "Backoff.h"

namespace thingsnxt {

uint32_t Backoff::nextDelayMs(uint32_t random32) {
  // Doubling past 2^20 × base is beyond any sensible cap; stop shifting there.
  const uint32_t doublings = failures_ < 20 ? failures_ : 20;
  uint64_t step = static_cast<uint64_t>(baseMs_) << doublings;
  if (step > capMs_) step = capMs_;
  ++failures_;
  const uint64_t half = step / 2;
  return static_cast<uint32_t>(step - half + random32 % (half + 1));
}

}  // namespace thingsnxt
