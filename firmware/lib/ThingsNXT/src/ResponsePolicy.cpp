#include "ResponsePolicy.h"

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

uint32_t parseRetryAfterMs(const std::string& header) {
  size_t begin = header.find_first_not_of(" \t");
  size_t end = header.find_last_not_of(" \t");
  if (begin == std::string::npos) return 0;
  uint32_t seconds = 0;
  for (size_t i = begin; i <= end; ++i) {
    char c = header[i];
    if (c < '0' || c > '9') return 0;
    // A day is more than any server means; clamp rather than overflow.
    if (seconds > 86400) return 86400u * 1000u;
    seconds = seconds * 10 + static_cast<uint32_t>(c - '0');
  }
  if (seconds > 86400) seconds = 86400;
  return seconds * 1000;
}

const char* describeOutcome(Outcome outcome) {
  switch (outcome) {
    case Outcome::Success: return "ok";
    case Outcome::NotModified: return "not modified";
    case Outcome::DropReading: return "refused";
    case Outcome::Reprovision: return "credentials refused";
    case Outcome::RateLimited: return "rate limited";
    case Outcome::RetryLater: return "server unavailable";
  }
  return "?";
}

}  // namespace thingsnxt
