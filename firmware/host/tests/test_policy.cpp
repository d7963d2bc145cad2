#include <doctest/doctest.h>

#include "ThingsNXT.h"

using namespace thingsnxt;

TEST_CASE("backoff doubles up to the cap, with the wait in the upper half of each step") {
  Backoff backoff(1000, 8000);
  const uint32_t steps[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (uint32_t step : steps) {
    Backoff lowest = backoff;
    Backoff highest = backoff;
    CHECK(lowest.nextDelayMs(0) == step / 2);
    CHECK(highest.nextDelayMs(step / 2) == step);  // random % (step/2 + 1) == step/2
    const uint32_t delay = backoff.nextDelayMs(0x9e3779b9u);
    CHECK(delay >= step / 2);
    CHECK(delay <= step);
  }
  CHECK(backoff.failures() == 6);
}

TEST_CASE("backoff starts over after a success") {
  Backoff backoff(500, 60000);
  for (int i = 0; i < 5; ++i) backoff.nextDelayMs(0);
  backoff.reset();
  CHECK(backoff.nextDelayMs(250) == 500);
}

TEST_CASE("backoff does not overflow after many failures") {
  Backoff backoff(1000, 60000);
  uint32_t delay = 0;
  for (int i = 0; i < 100; ++i) delay = backoff.nextDelayMs(0xffffffffu);
  CHECK(delay >= 30000);
  CHECK(delay <= 60000);
}

TEST_CASE("each status code gets the reaction the API guide asks for") {
  CHECK(classifyResponse(200, "") == Outcome::Success);
  CHECK(classifyResponse(304, "") == Outcome::NotModified);
  CHECK(classifyResponse(400, "bad_request") == Outcome::DropReading);
  CHECK(classifyResponse(413, "too_large") == Outcome::DropReading);
  CHECK(classifyResponse(403, "rule_denied") == Outcome::DropReading);
  CHECK(classifyResponse(403, "invalid_token") == Outcome::Reprovision);
  CHECK(classifyResponse(403, "") == Outcome::Reprovision);
  CHECK(classifyResponse(401, "") == Outcome::Reprovision);
  CHECK(classifyResponse(404, "not_found") == Outcome::Reprovision);
  CHECK(classifyResponse(429, "rate_limited") == Outcome::RateLimited);
  CHECK(classifyResponse(500, "") == Outcome::RetryLater);
  CHECK(classifyResponse(503, "") == Outcome::RetryLater);
  CHECK(classifyResponse(408, "") == Outcome::RetryLater);
  CHECK(classifyResponse(kNetworkError, "") == Outcome::RetryLater);
}

TEST_CASE("Retry-After is read in seconds; other forms fall back to backoff") {
  CHECK(parseRetryAfterMs("30") == 30000);
  CHECK(parseRetryAfterMs(" 7 ") == 7000);
  CHECK(parseRetryAfterMs("") == 0);
  CHECK(parseRetryAfterMs("Wed, 21 Oct 2026 07:28:00 GMT") == 0);
  CHECK(parseRetryAfterMs("99999999999999") == 86400u * 1000u);
}

TEST_CASE("each 429 slows the device down, a run of successes speeds it up again") {
  Pacing pacing;
  CHECK(pacing.scale(10000) == 10000);
  pacing.onRateLimited();
  CHECK(pacing.scale(10000) == 20000);
  for (int i = 0; i < 5; ++i) pacing.onRateLimited();
  CHECK(pacing.factor() == Pacing::kMaxFactor);
  for (uint32_t i = 0; i < Pacing::kSuccessesToSpeedUp - 1; ++i) pacing.onSuccess();
  CHECK(pacing.factor() == Pacing::kMaxFactor);
  pacing.onSuccess();
  CHECK(pacing.factor() == Pacing::kMaxFactor / 2);
}

TEST_CASE("a periodic timer keeps its rhythm and does not burst after a stall") {
  PeriodicTimer timer;
  CHECK(timer.due(0));
  timer.advance(0, 1000);
  CHECK_FALSE(timer.due(999));
  CHECK(timer.msUntilDue(400) == 600);
  timer.advance(1150, 1000);  // fired 150 ms late: the next one is still at 2000
  CHECK_FALSE(timer.due(1999));
  CHECK(timer.due(2000));
  timer.advance(9000, 1000);  // stalled for seconds: one interval from now, not 7 at once
  CHECK_FALSE(timer.due(9999));
  CHECK(timer.due(10000));
}
