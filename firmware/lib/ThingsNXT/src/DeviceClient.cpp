#include "DeviceClient.h"

#include <algorithm>
#include <cstdio>

#include "IsoTime.h"
#include "Messages.h"

namespace thingsnxt {

namespace {

// A long-poll must be answered this long before the next scheduled reading,
// because the loop waits for it.
constexpr uint64_t kLongPollMarginMs = 1000;
// After the state changed, the next poll waits this long even in long-poll
// mode, so a server whose ETag changes on every request cannot make the
// device spin.
constexpr uint32_t kPollGapAfterChangeMs = 1000;

std::string failureCause(const HttpResponse& response, const ServerError& error) {
  if (response.status == kNetworkError) return "no answer: " + response.networkError;
  std::string cause = "HTTP " + std::to_string(response.status);
  if (!error.code.empty()) cause += " " + error.code;
  if (!error.rule.empty()) cause += " rule " + error.rule;
  if (!error.message.empty()) cause += ": " + error.message;
  return cause;
}

}  // namespace

DeviceClient::DeviceClient(const ClientSettings& settings, Board& board, HttpTransport& transport, JsonReader& reader,
                           JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log)
    : settings_(settings),
      board_(board),
      transport_(transport),
      reader_(reader),
      writer_(writer),
      pins_(pins),
      sensors_(sensors),
      log_(log),
      buffer_(settings.bufferCapacity),
      backoff_(settings.backoffBaseMs, settings.backoffCapMs) {}

void DeviceClient::begin(const DeviceConfig& config) {
  pins_.begin(board_);
  configure(config);
}

void DeviceClient::configure(const DeviceConfig& config) {
  state_ = State::NotProvisioned;
  token_ = config.deviceToken;
  urls_ = ApiUrls(config.apiBaseUrl, config.deviceId);
  etag_.clear();
  longPoll_ = LongPoll::Unknown;
  backoff_.reset();
  quietUntilMs_ = 0;
  if (!config.hasApiCredentials()) {
    log_.warn("not provisioned: set id, token and url over serial (type `help`)");
    return;
  }
  const char* url = config.apiBaseUrl.c_str();
  switch (classifyBaseUrl(config.apiBaseUrl)) {
    case UrlSecurity::Invalid:
      log_.error("server url %s is not an http:// or https:// URL", url);
      return;
    case UrlSecurity::PublicHttp:
      log_.error("refusing plain HTTP to a public host (%s): use https://", url);
      return;
    case UrlSecurity::DevelopmentHttp:
      log_.warn("plain HTTP to %s: for development only, the token travels unencrypted", url);
      break;
    case UrlSecurity::Https: {
      const std::string ca = config.rootCaPem.empty() ? settings_.defaultRootCaPem : config.rootCaPem;
      if (ca.empty()) {
        log_.error("https needs a root CA certificate: paste one with `set ca`");
        return;
      }
      transport_.setRootCa(ca);
      break;
    }
  }
  state_ = State::Running;
  log_.info("provisioned: device %s at %s", config.deviceId.c_str(), url);
}

void DeviceClient::tick() {
  if (state_ == State::NotProvisioned) return;
  const uint64_t now = board_.monotonicMs();
  if (telemetryTimer_.due(now)) {
    telemetryTimer_.advance(now, pacing_.scale(settings_.telemetryIntervalMs));
    const Reading reading = takeReading(now);
    if (readyToSend(now)) {
      sendLive(reading);
    } else {
      keepForLater(reading);
    }
    return;
  }
  if (!readyToSend(now)) return;
  if (healthTimer_.due(now)) {
    checkHealth(now);
  } else if (buffer_.empty() || !uploadBacklog(now)) {
    if (pollDue(now)) pollState(now);
  }
}

bool DeviceClient::readyToSend(uint64_t nowMs) const {
  return state_ == State::Running && networkUp_ && nowMs >= quietUntilMs_;
}

Reading DeviceClient::takeReading(uint64_t nowMs) {
  Reading reading;
  reading.takenAtMonotonicMs = nowMs;
  reading.takenAtEpochMs = board_.epochMs();
  for (size_t i = 0; i < pins_.size(); ++i) reading.add(pins_.at(i).key, static_cast<int32_t>(pins_.at(i).on));
  sensors_.read(reading);
  return reading;
}

void DeviceClient::sendLive(const Reading& reading) {
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.url = urls_.telemetry();
  request.body = telemetryBody(writer_, token_, reading);
  const HttpResponse response = exchange(request);
  switch (settle(response, "telemetry")) {
    case Outcome::Success:
      ++stats_.readingsSent;
      log_.info("telemetry sent (%d): %s", response.status, reading.describe().c_str());
      applyState(response.body, "telemetry");
      break;
    case Outcome::DropReading:
      ++stats_.readingsDropped;
      log_.warn("reading dropped: %s", reading.describe().c_str());
      break;
    default:
      // Not stored by the server: the batch upload retries it later, with the
      // time it was taken (idempotent, unlike a repeated live POST).
      keepForLater(reading);
      break;
  }
}

void DeviceClient::keepForLater(const Reading& reading) {
  const bool roomLeft = buffer_.push(reading);
  const std::string ts = reading.takenAtEpochMs ? formatIsoUtc(reading.takenAtEpochMs) : "pending";
  log_.info("kept offline: ts=%s %s (buffer %u/%u)", ts.c_str(), reading.describe().c_str(),
            static_cast<unsigned>(buffer_.size()), static_cast<unsigned>(buffer_.capacity()));
  if (!roomLeft) {
    log_.warn("offline buffer full: dropped the oldest reading (%u dropped so far)",
              static_cast<unsigned>(buffer_.overflowDropped()));
  }
}

bool DeviceClient::uploadBacklog(uint64_t nowMs) {
  const uint64_t epochNow = board_.epochMs();
  if (epochNow == 0) return false;  // batch records need a wall-clock time: wait for NTP
  stampMissingTimes(nowMs, epochNow);
  const size_t count = std::min(settings_.batchSize, buffer_.size());
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.url = urls_.batch();
  request.body = batchBody(writer_, token_, buffer_, count);
  const HttpResponse response = exchange(request);
  switch (settle(response, "batch upload")) {
    case Outcome::Success: {
      const BatchResult result = readBatchResult(reader_, response.body);
      buffer_.dropOldest(count);
      stats_.readingsSent += static_cast<uint32_t>(count);
      log_.info("uploaded %u buffered readings (accepted %ld, duplicates %ld); %u left",
                static_cast<unsigned>(count), static_cast<long>(result.accepted),
                static_cast<long>(result.duplicates), static_cast<unsigned>(buffer_.size()));
      break;
    }
    case Outcome::DropReading:
      // The server cannot say which record it refused; keeping the chunk would
      // block every reading behind it.
      buffer_.dropOldest(count);
      stats_.readingsDropped += static_cast<uint32_t>(count);
      log_.warn("dropped %u buffered readings the server refused", static_cast<unsigned>(count));
      break;
    default:
      break;  // kept; settle() decided when to try again
  }
  return true;
}

// Readings taken before the wall clock was known get their time now, counted
// back on the monotonic clock. Once set it never changes, so a retried upload
// carries the same ts and the server recognises the duplicate.
void DeviceClient::stampMissingTimes(uint64_t nowMs, uint64_t epochNowMs) {
  for (size_t i = 0; i < buffer_.size(); ++i) {
    Reading& reading = buffer_.at(i);
    if (reading.takenAtEpochMs == 0) reading.takenAtEpochMs = epochNowMs - (nowMs - reading.takenAtMonotonicMs);
  }
}

bool DeviceClient::longPollUsable() const {
  return settings_.longPollMaxSeconds > 0 && longPoll_ != LongPoll::Unsupported && !etag_.empty();
}

// The loop waits for a long-poll's answer, so it must end before the next
// reading or health check is due.
uint32_t DeviceClient::longPollSeconds(uint64_t nowMs) const {
  if (!longPollUsable()) return 0;
  const uint64_t room = std::min(telemetryTimer_.msUntilDue(nowMs), healthTimer_.msUntilDue(nowMs));
  const uint64_t seconds = room > kLongPollMarginMs ? (room - kLongPollMarginMs) / 1000 : 0;
  return static_cast<uint32_t>(std::min<uint64_t>(seconds, settings_.longPollMaxSeconds));
}

bool DeviceClient::pollDue(uint64_t nowMs) const {
  if (!pollTimer_.due(nowMs)) return false;
  // With no room for a long-poll, the telemetry response that comes first
  // brings the state anyway.
  return !longPollUsable() || longPollSeconds(nowMs) > 0;
}

void DeviceClient::pollState(uint64_t nowMs) {
  const uint32_t waitSeconds = longPollSeconds(nowMs);
  HttpRequest request;
  request.url = urls_.latestState(waitSeconds);
  request.bearerToken = token_;
  request.ifNoneMatch = etag_;
  request.timeoutMs = settings_.requestTimeoutMs + waitSeconds * 1000;
  const HttpResponse response = exchange(request);
  const uint64_t after = board_.monotonicMs();
  const Outcome outcome = settle(response, "poll");
  if (outcome == Outcome::Success) {
    etag_ = response.etag;
    applyState(response.body, "poll");
  } else if (outcome == Outcome::NotModified && waitSeconds > 0) {
    learnLongPollSupport(after - nowMs, waitSeconds);
  }
  if (outcome == Outcome::NotModified && longPollUsable()) {
    pollTimer_.runAfter(after, 0);  // the server does the waiting: ask again at once
  } else {
    pollTimer_.runAfter(after, longPollUsable() ? kPollGapAfterChangeMs : pacing_.scale(settings_.pollIntervalMs));
  }
}

// A server that holds long-polls answers 304 when the wait is over; one that
// does not answers at once, and is then polled every pollIntervalMs.
void DeviceClient::learnLongPollSupport(uint64_t elapsedMs, uint32_t waitSeconds) {
  const LongPoll learned = elapsedMs * 2 >= waitSeconds * 1000ull ? LongPoll::Supported : LongPoll::Unsupported;
  if (learned == longPoll_) return;
  longPoll_ = learned;
  if (learned == LongPoll::Supported) {
    log_.info("long-poll: the server holds state requests; waiting for changes");
  } else {
    log_.info("long-poll: not supported by the server; polling every %u ms",
              static_cast<unsigned>(settings_.pollIntervalMs));
  }
}

// Informational: shown by `stats`. The device endpoints' own answers drive
// backoff, so a health check never stops or delays telemetry.
void DeviceClient::checkHealth(uint64_t nowMs) {
  healthTimer_.advance(nowMs, settings_.healthIntervalMs);
  HttpRequest request;
  request.url = urls_.health();
  const HttpResponse response = exchange(request);
  std::string health;
  if (response.status == kNetworkError) {
    health = "unreachable (" + response.networkError + ")";
  } else {
    const bool parsed = reader_.parse(response.body);
    health = parsed ? reader_.member("status").text : "";
    if (health.empty()) health = "unknown";
    if (parsed && !reader_.member("database").text.empty()) health += ", database " + reader_.member("database").text;
    health += " (HTTP " + std::to_string(response.status) + ")";
  }
  if (health != serverHealth_) {
    log_.info("health: %s", health.c_str());
    serverHealth_ = health;
  }
}

HttpResponse DeviceClient::exchange(HttpRequest request) {
  const char* method = request.method == HttpMethod::Post ? "POST" : "GET";
  const uint64_t started = board_.monotonicMs();
  const HttpResponse response = transport_.send(request);
  log_.debug("%s %s -> %d (%u ms)", method, request.url.c_str(), response.status,
             static_cast<unsigned>(board_.monotonicMs() - started));
  log_.trace("response body: %s", response.body.c_str());
  return response;
}

Outcome DeviceClient::settle(const HttpResponse& response, const char* what) {
  stats_.lastHttpStatus = response.status;
  ServerError error;
  if (response.status >= 400) error = readServerError(reader_, response.body);
  const Outcome outcome = classifyResponse(response.status, error.code);
  if (outcome == Outcome::Success || outcome == Outcome::NotModified) {
    backoff_.reset();
    pacing_.onSuccess();
    return outcome;
  }
  ++stats_.requestsFailed;
  const std::string cause = failureCause(response, error);
  const uint64_t now = board_.monotonicMs();
  switch (outcome) {
    case Outcome::DropReading:
      log_.warn("%s: refused (%s)", what, cause.c_str());
      break;
    case Outcome::Reprovision:
      state_ = State::NeedsProvisioning;
      log_.error("%s: credentials refused (%s); stopped until re-provisioned: check `set id`, `set token`, `set url`",
                 what, cause.c_str());
      break;
    case Outcome::RateLimited: {
      ++stats_.rateLimited;
      pacing_.onRateLimited();
      uint32_t waitMs = parseRetryAfterMs(response.retryAfter);
      if (waitMs == 0) waitMs = backoff_.nextDelayMs(board_.random32());
      quietUntilMs_ = now + waitMs;
      log_.warn("%s: rate limited (%s); waiting %u ms, intervals now x%u", what, cause.c_str(),
                static_cast<unsigned>(waitMs), static_cast<unsigned>(pacing_.factor()));
      break;
    }
    case Outcome::RetryLater: {
      ++stats_.retries;
      const uint32_t delayMs = backoff_.nextDelayMs(board_.random32());
      quietUntilMs_ = now + delayMs;
      log_.warn("%s: server unavailable (%s); backing off %u ms (attempt %u)", what, cause.c_str(),
                static_cast<unsigned>(delayMs), static_cast<unsigned>(backoff_.failures()));
      break;
    }
    default:
      break;
  }
  return outcome;
}

void DeviceClient::applyState(const std::string& body, const char* source) {
  if (!reader_.parse(body)) {
    log_.warn("%s: the response is not a JSON object; state not applied", source);
    return;
  }
  const DesiredPins desired = readDesiredPins(reader_, pins_);
  bool changed = false;
  for (size_t i = 0; i < pins_.size(); ++i) {
    if (desired.value[i] < 0 || !pins_.set(i, desired.value[i] == 1, board_)) continue;
    changed = true;
    ++stats_.pinChanges;
    log_.info("applied %s=%d (gpio %d) from %s", pins_.at(i).key, desired.value[i], pins_.at(i).gpio, source);
  }
  // Report the new value at once, so the dashboard stops showing it pending.
  if (changed) telemetryTimer_.runAfter(board_.monotonicMs(), 0);
}

void DeviceClient::reportStats(TextSink& out) {
  static const char* const kStates[] = {"not provisioned", "running",
                                        "stopped: credentials refused, re-provision with `set ...`"};
  char line[160];
  snprintf(line, sizeof line, "state: %s", kStates[static_cast<int>(state_)]);
  out.writeLine(line);
  snprintf(line, sizeof line, "readings sent: %lu, dropped by server: %lu",
           static_cast<unsigned long>(stats_.readingsSent), static_cast<unsigned long>(stats_.readingsDropped));
  out.writeLine(line);
  snprintf(line, sizeof line, "failed requests: %lu, retries: %lu, rate limited: %lu, interval factor: x%u",
           static_cast<unsigned long>(stats_.requestsFailed), static_cast<unsigned long>(stats_.retries),
           static_cast<unsigned long>(stats_.rateLimited), static_cast<unsigned>(pacing_.factor()));
  out.writeLine(line);
  snprintf(line, sizeof line, "offline buffer: %u/%u, lost to overflow: %lu%s", static_cast<unsigned>(buffer_.size()),
           static_cast<unsigned>(buffer_.capacity()), static_cast<unsigned long>(buffer_.overflowDropped()),
           !buffer_.empty() && board_.epochMs() == 0 ? " (waiting for NTP time)" : "");
  out.writeLine(line);
  snprintf(line, sizeof line, "last HTTP status: %d, LED changes: %lu, server health: %s", stats_.lastHttpStatus,
           static_cast<unsigned long>(stats_.pinChanges), serverHealth_.c_str());
  out.writeLine(line);
  snprintf(line, sizeof line, "uptime: %lu s, free heap: %lu bytes",
           static_cast<unsigned long>(board_.monotonicMs() / 1000), static_cast<unsigned long>(board_.freeHeapBytes()));
  out.writeLine(line);
}

}  // namespace thingsnxt
