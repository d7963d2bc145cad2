#include "ResponsePolicy.h"

#include <algorithm>

#include "Http.h"

namespace thingsnxt {

Outcome classifyResponse(int status, const std::string& errorCode) {
  if (status >= 200 && status < 300) return Outcome::Success;
  if (status == 304) return Outcome::NotModified;
  if (status == 429) return Outcome::RateLimited;
  if (status == kNetworkError || status == 408 || status >= 500) return Outcome::RetryLater;
  // A security rule denies one reading (a value out of range, a key not
  // allowed); the token is fine, so the next reading may pass.
  if (status == 403 && errorCode == "rule_denied") return Outcome::DropReading;
  if (status == 401 || status == 403 || status == 404) return Outcome::Reprovision;
  return Outcome::DropReading;
}

Outcome classifyRefusal(const std::string& errorCode) {
  return errorCode == "rate_limited" ? Outcome::RateLimited : Outcome::DropReading;
}

uint32_t parseRetryAfterMs(const std::string& header) {
  // A day is more than any server means; clamping also rules out overflow.
  constexpr uint32_t kMaxSeconds = 86400;
  const size_t begin = header.find_first_not_of(" \t");
  if (begin == std::string::npos) return 0;
  const size_t end = header.find_last_not_of(" \t");
  uint32_t seconds = 0;
  for (size_t i = begin; i <= end; ++i) {
    const char c = header[i];
    if (c < '0' || c > '9') return 0;
    seconds = std::min<uint32_t>(seconds * 10 + static_cast<uint32_t>(c - '0'), kMaxSeconds);
  }
  return seconds * 1000;
}

}  // namespace thingsnxt
