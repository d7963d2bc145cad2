#include "Board.h"

namespace thingsnxt {

const char* resetReasonName(ResetReason reason) {
  switch (reason) {
    case ResetReason::PowerOn: return "poweron";
    case ResetReason::Software: return "software";
    case ResetReason::Panic: return "panic";
    case ResetReason::Watchdog: return "watchdog";
    case ResetReason::Brownout: return "brownout";
    case ResetReason::DeepSleep: return "deepsleep";
    case ResetReason::External: return "external";
    case ResetReason::Unknown: break;
  }
  return "unknown";
}

}  // namespace thingsnxt
