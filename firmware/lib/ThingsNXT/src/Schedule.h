// Timing without delay(): a periodic timer, and the slow-down the server asks
// for with 429.
#pragma once

#include <cstdint>

namespace thingsnxt {

class PeriodicTimer {
 public:
  bool due(uint64_t nowMs) const { return nowMs >= nextMs_; }
  uint64_t msUntilDue(uint64_t nowMs) const { return nowMs >= nextMs_ ? 0 : nextMs_ - nowMs; }
  // Next run one interval after the previous one (no drift from the time a
  // request took); if the loop fell behind by more than that, one interval
  // from now instead of a burst of catch-up runs.
  void advance(uint64_t nowMs, uint32_t intervalMs) {
    nextMs_ = nextMs_ + intervalMs > nowMs ? nextMs_ + intervalMs : nowMs + intervalMs;
  }
  void runAfter(uint64_t nowMs, uint32_t delayMs) { nextMs_ = nowMs + delayMs; }
  void runNow() { nextMs_ = 0; }

 private:
  uint64_t nextMs_ = 0;
};

// Each 429 doubles the device's intervals (up to kMaxFactor); a run of
// successful requests halves them again, so a device that was told to slow
// down stays slower for a while instead of hitting the limit again at once.
class Pacing {
 public:
  static constexpr uint32_t kMaxFactor = 8;
  static constexpr uint32_t kSuccessesToSpeedUp = 20;

  void onRateLimited() {
    if (factor_ < kMaxFactor) factor_ *= 2;
    successes_ = 0;
  }
  void onSuccess() {
    if (factor_ == 1 || ++successes_ < kSuccessesToSpeedUp) return;
    factor_ /= 2;
    successes_ = 0;
  }
  uint32_t scale(uint32_t intervalMs) const { return intervalMs * factor_; }
  uint32_t factor() const { return factor_; }

 private:
  uint32_t factor_ = 1;
  uint32_t successes_ = 0;
};

}  // namespace thingsnxt
