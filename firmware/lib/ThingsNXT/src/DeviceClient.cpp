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
// What the loop may spend outside requests between two watchdog feeds:
// serial commands, a WiFi reconnect, flash writes of the offline buffer.
constexpr uint32_t kWatchdogMarginMs = 20000;

std::string failureCause(const HttpResponse& response, const ServerError& error) {
  if (response.status == kNetworkError) return "no answer: " + response.networkError;
  std::string cause = "HTTP " + std::to_string(response.status);
  if (!error.code.empty()) cause += " " + error.code;
  if (!error.rule.empty()) cause += " rule " + error.rule;
  if (!error.message.empty()) cause += ": " + error.message;
  return cause;
}

}  // namespace

uint32_t worstCaseRequestMs(const ClientSettings& settings) {
  return kConnectTimeoutMs + kTlsHandshakeTimeoutMs + settings.requestTimeoutMs + settings.longPollMaxSeconds * 1000;
}

uint32_t watchdogTimeoutMs(const ClientSettings& settings) { return worstCaseRequestMs(settings) + kWatchdogMarginMs; }

DeviceClient::DeviceClient(const ClientSettings& settings, Board& board, HttpTransport& transport, JsonReader& reader,
                           JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log, RecordStore* store)
    : DeviceCore(settings, "http", board, reader, writer, pins, sensors, log, store), transport_(transport) {}

void DeviceClient::configure(const DeviceConfig& config) {
  state_ = State::NotProvisioned;
  token_ = config.deviceToken;
  baseUrl_ = config.apiBaseUrl;
  urls_ = ApiUrls(config.apiBaseUrl, config.deviceId);
  provisioningKey_ = config.provisioningKey;
  provisioningSecret_ = config.provisioningSecret;
  canProvision_ = config.canProvision();
  etag_.clear();
  longPoll_ = LongPoll::Unknown;
  resetBackoff();
  if (!config.hasApiCredentials() && !canProvision_) {
    log_.warn("not provisioned: set id, token and url (or `set provisioning`) over serial (type `help`)");
    return;
  }
  if (!applyUrl(config)) return;
  if (config.hasApiCredentials()) {
    state_ = State::Running;
    log_.info("provisioned: device %s at %s", config.deviceId.c_str(), config.apiBaseUrl.c_str());
  } else {
    state_ = State::Provisioning;
    log_.info("no device credentials: provisioning at %s with the fleet key", config.apiBaseUrl.c_str());
  }
}

// False when the URL cannot be used (then nothing is sent).
bool DeviceClient::applyUrl(const DeviceConfig& config) {
  const char* url = config.apiBaseUrl.c_str();
  switch (classifyBaseUrl(config.apiBaseUrl)) {
    case UrlSecurity::Invalid:
      log_.error("server url %s is not a usable http:// or https:// URL", url);
      return false;
    case UrlSecurity::PublicHttp:
      log_.error("refusing plain HTTP to a public host (%s): use https://", url);
      return false;
    case UrlSecurity::DevelopmentHttp:
      log_.warn("plain HTTP to %s: for development only, the token travels unencrypted", url);
      if (!config.serverKeyPin.empty()) log_.warn("the key pin applies to https only");
      return true;
    case UrlSecurity::Https: {
      const std::string ca = config.rootCaPem.empty() ? settings_.defaultRootCaPem : config.rootCaPem;
      if (ca.empty()) {
        log_.error("https needs a root CA certificate: paste one with `set ca`");
        return false;
      }
      transport_.setRootCa(ca);
      transport_.setPinnedKey(config.serverKeyPin);
      return true;
    }
  }
  return false;
}

void DeviceClient::tick() {
  board_.feedWatchdog();
  if (state_ == State::NotProvisioned) return;
  const uint64_t now = board_.monotonicMs();
  if (telemetryTimer_.due(now)) {
    measure(now);
    return;
  }
  if (!networkUp_ || now < quietUntilMs_) return;
  if (state_ == State::Provisioning) {
    provision();
  } else if (state_ == State::CredentialsRefused) {
    retryAfterRefusal();
  } else if (healthTimer_.due(now)) {
    healthTimer_.advance(now, settings_.healthIntervalMs);
    checkHealth();
  } else if (buffer_.empty() || !uploadBacklog(now)) {
    if (pollDue(now)) pollState(now);
  }
}

bool DeviceClient::readyToSend(uint64_t nowMs) const {
  return state_ == State::Running && networkUp_ && nowMs >= quietUntilMs_;
}

void DeviceClient::measure(uint64_t nowMs) {
  telemetryTimer_.advance(nowMs, pacing_.scale(settings_.telemetryIntervalMs));
  const Reading reading = takeReading(nowMs);
  if (readyToSend(nowMs)) {
    sendLive(reading, nowMs);
  } else {
    keepForLater(reading);
  }
}

void DeviceClient::sendLive(const Reading& reading, uint64_t nowMs) {
  HealthReport report;
  const HealthReport* withReport = healthReportIfDue(nowMs, report);
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.url = urls_.telemetry();
  request.body = telemetryBody(writer_, token_, reading, withReport);
  const HttpResponse response = exchange(request);
  switch (settle(response, "telemetry")) {
    case Outcome::Success:
      ++stats_.readingsSent;
      if (withReport) healthReportAccepted(nowMs);
      log_.info("telemetry sent (%d) seq %llu: %s", response.status, static_cast<unsigned long long>(reading.seq),
                reading.describe().c_str());
      applyState(response.body, "telemetry");
      break;
    case Outcome::DropReading:
      ++stats_.readingsDropped;
      log_.warn("reading dropped: %s", reading.describe().c_str());
      break;
    default:
      // Maybe stored, maybe not (a lost answer): the batch upload sends it
      // again with the same seq, boot and ts, which the server recognises.
      keepForLater(reading);
      break;
  }
}

bool DeviceClient::uploadBacklog(uint64_t nowMs) {
  if (!dateBufferedReadings(nowMs)) return false;  // batch records need a wall-clock time: wait for NTP
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

// True when the server says it is up: 2xx with a JSON status, which a proxy's
// error or maintenance page is not. Periodically (every healthIntervalMs) it
// is informational, shown by `stats`; after refused credentials it decides
// whether the refusal can be believed.
bool DeviceClient::checkHealth() {
  HttpRequest request;
  request.url = urls_.health();
  const HttpResponse response = exchange(request);
  std::string health;
  bool up = false;
  if (response.status == kNetworkError) {
    health = "unreachable (" + response.networkError + ")";
  } else {
    const bool parsed = reader_.parse(response.body);
    health = parsed ? reader_.member("status").text : "";
    up = response.status >= 200 && response.status < 300 && (health == "ok" || health == "degraded");
    if (health.empty()) health = "unknown";
    if (parsed && !reader_.member("database").text.empty()) health += ", database " + reader_.member("database").text;
    health += " (HTTP " + std::to_string(response.status) + ")";
  }
  if (health != serverHealth_) {
    log_.info("health: %s", health.c_str());
    serverHealth_ = health;
  }
  return up;
}

// The long wait after a refusal is over. A refusal is believed only from a
// server whose /health says it is up: a proxy answering 404 or 401 during a
// deploy is not the server. While it is not up, check again on the ordinary
// backoff; once it is, try the credentials again, or, after several
// confirmed refusals, ask for new ones with the fleet provisioning key.
void DeviceClient::retryAfterRefusal() {
  healthTimer_.runAfter(board_.monotonicMs(), settings_.healthIntervalMs);  // this check counts as the periodic one
  if (!checkHealth()) {
    ++stats_.retries;
    const uint32_t delayMs = backoff_.nextDelayMs(board_.random32());
    quietUntilMs_ = board_.monotonicMs() + delayMs;
    log_.warn("credentials refused earlier, and the server is not up (%s); checking again in %u ms",
              serverHealth_.c_str(), static_cast<unsigned>(delayMs));
    return;
  }
  backoff_.reset();
  if (canProvision_ && refusals_ >= settings_.refusalsBeforeReprovisioning) {
    state_ = State::Provisioning;
    log_.warn("credentials refused %u times by a healthy server: provisioning again with the fleet key",
              static_cast<unsigned>(refusals_));
    return;
  }
  state_ = State::Running;
  log_.info("the server is up: trying the credentials again");
}

void DeviceClient::provision() {
  Credentials credentials;
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.url = urls_.provision();
  request.body = provisioningBody(writer_, provisioningKey_, provisioningSecret_, board_.hardwareId(), settings_.deviceName);
  const HttpResponse response = exchange(request);
  const Outcome outcome = settle(response, "provisioning");
  if (outcome == Outcome::Success) {
    if (readCredentials(reader_, response.body, credentials)) {
      adopt(credentials);
    } else {
      refused("provisioning", "the answer holds no valid device_id and device_token");
    }
  } else if (outcome == Outcome::DropReading || outcome == Outcome::NotModified) {
    refused("provisioning", "HTTP " + std::to_string(response.status));
  }
}

void DeviceClient::adopt(const Credentials& credentials) {
  token_ = credentials.deviceToken;
  urls_ = ApiUrls(baseUrl_, credentials.deviceId);
  state_ = State::Running;
  refusals_ = 0;
  credentialBackoff_.reset();
  etag_.clear();
  // The token is never logged, not even masked: the log may be shared.
  log_.info("provisioned by the server as device %s", credentials.deviceId.c_str());
  if (credentialSink_ == nullptr || !credentialSink_->storeCredentials(credentials)) {
    log_.warn("the new credentials could not be saved: the device provisions again after a reboot");
  }
}

// The long backoff of refused credentials and refused provisioning.
void DeviceClient::refused(const char* what, const std::string& cause) {
  const uint32_t delayMs = waitLong();
  const bool provisioning = state_ == State::Provisioning;
  if (!provisioning) state_ = State::CredentialsRefused;
  log_.error("%s: %s (%s); %s in %u s; `set id`, `set token`, `set url` or `set provisioning` apply at once", what,
             provisioning ? "provisioning refused" : "credentials refused", cause.c_str(),
             provisioning ? "asking again" : "checking /health and trying again", static_cast<unsigned>(delayMs / 1000));
}

HttpResponse DeviceClient::exchange(HttpRequest request) {
  const char* method = request.method == HttpMethod::Post ? "POST" : "GET";
  board_.feedWatchdog();  // the request may take up to worstCaseRequestMs()
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
    onSuccess();
    return outcome;
  }
  ++stats_.requestsFailed;
  backOff(outcome, response, what, failureCause(response, error));
  return outcome;
}

void DeviceClient::onSuccess() {
  answered();
  if (state_ != State::Provisioning) credentialsAccepted();
}

void DeviceClient::backOff(Outcome outcome, const HttpResponse& response, const char* what, const std::string& cause) {
  switch (outcome) {
    case Outcome::DropReading:
      log_.warn("%s: refused (%s)", what, cause.c_str());
      break;
    case Outcome::Reprovision:
      ++refusals_;
      ++stats_.credentialRefusals;
      refused(what, cause);
      break;
    case Outcome::RateLimited:
      rateLimited(what, cause, parseRetryAfterMs(response.retryAfter));
      break;
    case Outcome::RetryLater:
      retryLater(what, "server unavailable", cause);
      break;
    default:
      break;
  }
}

const char* DeviceClient::stateDescription() const {
  static const char* const kStates[] = {"not provisioned", "provisioning with the fleet key", "running",
                                        "credentials refused: retrying on a long backoff after /health"};
  return kStates[static_cast<int>(state_)];
}

std::string DeviceClient::connectionDescription() const {
  return "last HTTP status: " + std::to_string(stats_.lastHttpStatus) + ", server health: " + serverHealth_;
}

}  // namespace thingsnxt
