// Exponential backoff with jitter and a cap, computed rather than slept: the
// caller stores "not before" and keeps running its loop.
#pragma once

#include <cstdint>

namespace thingsnxt {

class Backoff {
 public:
  Backoff(uint32_t baseMs, uint32_t capMs) : baseMs_(baseMs), capMs_(capMs) {}

  // The wait after one more consecutive failure. The step doubles from the
  // base up to the cap; the wait is a random point in the upper half of the
  // step ("equal jitter"), so devices that failed together do not come back
  // together, and the wait never shrinks to nothing.
  uint32_t nextDelayMs(uint32_t random32);
  void reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  uint32_t baseMs_;
  uint32_t capMs_;
  uint32_t failures_ = 0;
};

}  // namespace thingsnxt
