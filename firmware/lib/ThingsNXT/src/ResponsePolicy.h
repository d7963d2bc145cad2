// What a server answer means for the device (the status codes of the API
// guide), decided in one place for every endpoint.
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

enum class Outcome {
  Success,      // 2xx
  NotModified,  // 304 to If-None-Match
  DropReading,  // 400, 413, 403 rule_denied, other 4xx: this request can never succeed, keep going
  Reprovision,  // 403 invalid_token, 401, 404: the credentials are wrong, stop until re-provisioned
  RateLimited,  // 429: wait Retry-After, slow down
  RetryLater,   // 5xx, 408 or no answer: back off and retry
};

// `errorCode` is the "error" member of the JSON error body ("" if none).
Outcome classifyResponse(int status, const std::string& errorCode);

// A refusal on MQTT's errors topic, which has the error code but no status
// (docs/MQTT.md): rate_limited waits, anything else drops that message.
Outcome classifyRefusal(const std::string& errorCode);

// Retry-After in delta-seconds, as milliseconds; 0 when absent or in the
// HTTP-date form (the caller then falls back to its backoff).
uint32_t parseRetryAfterMs(const std::string& header);

}  // namespace thingsnxt
