#include "MqttDeviceClient.h"

#include <algorithm>

#include "Http.h"
#include "Messages.h"
#include "ResponsePolicy.h"
#include "Url.h"

namespace thingsnxt {

namespace {

constexpr uint8_t kQos1 = 1;
constexpr char kOnline[] = "online";
constexpr char kOffline[] = "offline";

bool isNamed(const std::vector<ReadingId>& named, const Reading& reading) {
  return std::any_of(named.begin(), named.end(), [&reading](const ReadingId& id) { return id.names(reading); });
}

}  // namespace

MqttDeviceClient::MqttDeviceClient(const ClientSettings& settings, const std::string& brokerUrl, Board& board,
                                   MqttTransport& mqtt, JsonReader& reader, JsonWriter& writer, PinMap& pins,
                                   SensorSource& sensors, Log& log, RecordStore* store)
    : DeviceCore(settings, "mqtt", board, reader, writer, pins, sensors, log, store), mqtt_(mqtt), brokerUrl_(brokerUrl) {}

void MqttDeviceClient::configure(const DeviceConfig& config) {
  if (state_ == State::Connected || state_ == State::Connecting) mqtt_.disconnect();
  requeueUnreceipted();
  state_ = State::NotProvisioned;
  resetBackoff();
  if (config.deviceId.empty() || config.deviceToken.empty()) {
    log_.warn("not provisioned: set id and token over serial (type `help`); MQTT does not provision with a fleet key");
    return;
  }
  if (!brokerUsable(config)) return;
  options_.clientId = config.deviceId;
  options_.username = config.deviceId;
  options_.password = config.deviceToken;
  options_.willTopic = topic("status");
  options_.willPayload = kOffline;
  options_.keepAliveS = settings_.mqttKeepAliveS;
  state_ = State::Disconnected;
  log_.info("provisioned: device %s over MQTT at %s", config.deviceId.c_str(), brokerUrl_.c_str());
}

// False when the broker URL cannot be used (then nothing is sent).
bool MqttDeviceClient::brokerUsable(const DeviceConfig& config) {
  Url url;
  std::string why;
  if (!parseBrokerUrl(brokerUrl_, url, why)) {
    log_.error("broker url %s: %s", brokerUrl_.c_str(), why.c_str());
    return false;
  }
  options_.host = url.host;
  options_.port = url.port;
  options_.tls = url.scheme == "mqtts";
  switch (classifyBrokerUrl(brokerUrl_)) {
    case UrlSecurity::PublicHttp:
      log_.error("refusing plain MQTT to a public host (%s): use mqtts://", brokerUrl_.c_str());
      return false;
    case UrlSecurity::DevelopmentHttp:
      log_.warn("plain MQTT to %s: for development only, the token travels unencrypted", brokerUrl_.c_str());
      return true;
    default: {
      const std::string ca = config.rootCaPem.empty() ? settings_.defaultRootCaPem : config.rootCaPem;
      if (ca.empty()) {
        log_.error("mqtts needs a root CA certificate: paste one with `set ca`");
        return false;
      }
      mqtt_.setRootCa(ca);
      return true;
    }
  }
}

std::string MqttDeviceClient::topic(const char* leaf) const { return "devices/" + options_.username + "/" + leaf; }

void MqttDeviceClient::tick() {
  board_.feedWatchdog();
  if (state_ == State::NotProvisioned) return;
  MqttEvent event;
  while (mqtt_.poll(event)) handle(event);
  const uint64_t now = board_.monotonicMs();
  const bool mayConnect = networkUp_ && now >= quietUntilMs_;
  if (mayConnect && (state_ == State::Disconnected || state_ == State::CredentialsRefused)) connect(now);
  const uint64_t connackDeadlineMs = kConnectTimeoutMs + kTlsHandshakeTimeoutMs + settings_.requestTimeoutMs;
  if (state_ == State::Connecting && now - connectStartedMs_ > connackDeadlineMs) {
    mqtt_.disconnect();
    backOff("no CONNACK in time");
  }
  if (state_ == State::Connected) resendOverdue(now);
  // A reading due while the CONNACK is awaited waits for it (at most the
  // connect timeout) rather than going to flash.
  if (telemetryTimer_.due(now) && state_ != State::Connecting) {
    measure(now);
  } else if (mayConnect && state_ == State::Connected && batchCount_ == 0 && !buffer_.empty()) {
    publishBacklog(now);
  }
}

void MqttDeviceClient::connect(uint64_t nowMs) {
  board_.feedWatchdog();  // the adapter may resolve the name and open the socket here
  if (!mqtt_.connect(options_)) {
    backOff(mqtt_.lastError());
    return;
  }
  state_ = State::Connecting;
  connectStartedMs_ = nowMs;
  log_.debug("MQTT: connecting to %s:%u", options_.host.c_str(), static_cast<unsigned>(options_.port));
}

void MqttDeviceClient::handle(const MqttEvent& event) {
  switch (event.type) {
    case MqttEvent::Type::Connected: onConnected(); break;
    case MqttEvent::Type::Refused: onRefused(event); break;
    case MqttEvent::Type::Disconnected: onConnectionLost(event.detail); break;
    case MqttEvent::Type::PublishAcked: break;  // the broker has it; only the platform's receipt counts
    case MqttEvent::Type::Message: onMessage(event); break;
  }
}

void MqttDeviceClient::onConnected() {
  if (state_ != State::Connecting) return;
  state_ = State::Connected;
  lastProblem_.clear();
  answered();
  credentialsAccepted();
  // The state is retained: subscribing brings the latest at once. Receipts
  // are subscribed before anything is published, so none is missed.
  const bool subscribed = mqtt_.subscribe(topic("state"), kQos1) && mqtt_.subscribe(topic("stored"), kQos1) &&
                          mqtt_.subscribe(topic("errors"), kQos1) && mqtt_.subscribe(topic("ota"), kQos1);
  if (!subscribed) log_.warn("MQTT: subscribing failed (%s)", mqtt_.lastError().c_str());
  mqtt_.publish(topic("status"), kOnline, kQos1, true);
  log_.info("MQTT: connected to %s:%u as %s", options_.host.c_str(), static_cast<unsigned>(options_.port),
            options_.clientId.c_str());
}

// What has no receipt goes into the offline buffer, to be sent again as a
// batch; the connection is tried again on the ordinary backoff.
void MqttDeviceClient::onConnectionLost(const std::string& cause) {
  requeueUnreceipted();
  if (state_ == State::Connected || state_ == State::Connecting) backOff(cause);
}

void MqttDeviceClient::requeueUnreceipted() {
  for (const InFlight& held : inFlight_) keep(held.reading);
  inFlight_.clear();
  batchCount_ = 0;
}

void MqttDeviceClient::resendOverdue(uint64_t nowMs) {
  const uint32_t timeoutMs = settings_.mqttReceiptTimeoutMs;
  const auto overdue = [nowMs, timeoutMs](const InFlight& held) { return nowMs - held.sentAtMs >= timeoutMs; };
  for (const InFlight& held : inFlight_) {
    if (!overdue(held)) continue;
    log_.warn("telemetry: no receipt for seq %llu in %u s; sending it again from the buffer",
              static_cast<unsigned long long>(held.reading.seq), static_cast<unsigned>(timeoutMs / 1000));
    keep(held.reading);
  }
  inFlight_.erase(std::remove_if(inFlight_.begin(), inFlight_.end(), overdue), inFlight_.end());
  if (batchCount_ > 0 && nowMs - batchSentAtMs_ >= timeoutMs) {
    log_.warn("telemetry: no receipt for a batch of %u in %u s; sending it again", static_cast<unsigned>(batchCount_),
              static_cast<unsigned>(timeoutMs / 1000));
    batchCount_ = 0;
  }
}

// Into the offline buffer; an overflow drops its oldest reading, which may be
// one of the batch waiting for its receipt.
void MqttDeviceClient::keep(const Reading& reading) {
  const uint32_t overflowBefore = buffer_.overflowDropped();
  keepForLater(reading);
  if (buffer_.overflowDropped() != overflowBefore && batchCount_ > 0) --batchCount_;
}

void MqttDeviceClient::backOff(const std::string& cause) {
  state_ = State::Disconnected;
  lastProblem_ = cause;
  ++stats_.requestsFailed;
  retryLater("MQTT", "broker unavailable", cause);
}

// "Not authorized" is handled like HTTP's 401: never a dead end, the long
// backoff, then the same credentials again (or new ones from the console).
void MqttDeviceClient::onRefused(const MqttEvent& event) {
  if (!event.notAuthorized) {
    onConnectionLost("refused: " + event.detail);
    return;
  }
  state_ = State::CredentialsRefused;
  lastProblem_ = "credentials refused: " + event.detail;
  ++refusals_;
  ++stats_.requestsFailed;
  ++stats_.credentialRefusals;
  const uint32_t delayMs = waitLong();
  log_.error("MQTT: credentials refused (%s); trying again in %u s; `set id` or `set token` apply at once",
             event.detail.c_str(), static_cast<unsigned>(delayMs / 1000));
}

void MqttDeviceClient::onMessage(const MqttEvent& event) {
  log_.trace("MQTT message on %s: %s", event.topic.c_str(), event.payload.c_str());
  if (event.topic == topic("state")) {
    applyState(event.payload, "mqtt");
  } else if (event.topic == topic("stored")) {
    onStored(event.payload);
  } else if (event.topic == topic("errors")) {
    onServerError(event.payload);
  } else if (event.topic == topic("ota") && !event.payload.empty()) {
    // The offer is the `ota` member of the HTTP answers; an empty message withdraws it.
    applyState("{\"ota\":" + event.payload + "}", "ota offer");
  }
}

void MqttDeviceClient::onStored(const std::string& payload) {
  if (!reader_.parse(payload)) return;
  settle(readReadingIds(reader_, "stored"), true);
}

// A refused message: MQTT has no per-message status, so the server says so
// on the errors topic, naming the message's readings. Rate limited: they are
// sent again once retry_after has passed. Any other refusal would be the same
// again (invalid, a security rule, too large): they are dropped and counted.
void MqttDeviceClient::onServerError(const std::string& payload) {
  const ServerError error = readServerError(reader_, payload);
  const JsonValue retryAfter = reader_.member("retry_after");
  const std::vector<ReadingId> named = readReadingIds(reader_, "readings");
  const std::string cause = error.code + (error.message.empty() ? "" : ": " + error.message);
  if (classifyRefusal(error.code) == Outcome::RateLimited) {
    sendAgainLater(named);
    const double seconds = retryAfter.type == JsonType::Number ? retryAfter.number : 0;
    rateLimited("telemetry", cause, static_cast<uint32_t>(std::min(seconds, 86400.0) * 1000));
    return;
  }
  const size_t dropped = settle(named, false);
  stats_.readingsDropped += static_cast<uint32_t>(dropped);
  log_.warn("telemetry: refused (%s); %u readings dropped", cause.c_str(), static_cast<unsigned>(dropped));
}

// The named readings leave the device: live ones waiting for their receipt,
// and those at the head of the buffer (a batch, or a live reading buffered
// after its receipt was late). One named further back in the buffer stays
// and is sent again: the server recognises it. How many left.
size_t MqttDeviceClient::settle(const std::vector<ReadingId>& named, bool stored) {
  size_t settled = 0;
  for (auto held = inFlight_.begin(); held != inFlight_.end();) {
    if (!isNamed(named, held->reading)) {
      ++held;
      continue;
    }
    ++settled;
    if (stored) {
      ++stats_.readingsSent;
      if (held->withHealthReport) healthReportAccepted(board_.monotonicMs());
      log_.info("telemetry stored seq %llu: %s", static_cast<unsigned long long>(held->reading.seq),
                held->reading.describe().c_str());
    }
    held = inFlight_.erase(held);
  }
  size_t leading = 0;
  while (leading < buffer_.size() && isNamed(named, buffer_.at(leading))) ++leading;
  if (leading == 0) return settled;
  buffer_.dropOldest(leading);
  batchCount_ -= std::min(batchCount_, leading);
  if (stored) {
    stats_.readingsSent += static_cast<uint32_t>(leading);
    log_.info("uploaded %u buffered readings (receipt); %u left", static_cast<unsigned>(leading),
              static_cast<unsigned>(buffer_.size()));
  }
  return settled + leading;
}

// Rate limited: the live readings named go to the buffer, and a batch named
// is sent again, both once the wait is over.
void MqttDeviceClient::sendAgainLater(const std::vector<ReadingId>& named) {
  for (auto held = inFlight_.begin(); held != inFlight_.end();) {
    if (!isNamed(named, held->reading)) {
      ++held;
      continue;
    }
    keep(held->reading);
    held = inFlight_.erase(held);
  }
  for (size_t i = 0; i < batchCount_; ++i) {
    if (isNamed(named, buffer_.at(i))) batchCount_ = 0;
  }
}

void MqttDeviceClient::measure(uint64_t nowMs) {
  telemetryTimer_.advance(nowMs, pacing_.scale(settings_.telemetryIntervalMs));
  const Reading reading = takeReading(nowMs);
  const bool publishable = state_ == State::Connected && nowMs >= quietUntilMs_ && inFlight_.size() < kMaxInFlight;
  if (publishable && publishLive(reading, nowMs)) return;
  keep(reading);
}

bool MqttDeviceClient::publishLive(const Reading& reading, uint64_t nowMs) {
  HealthReport report;
  const HealthReport* withReport = healthReportIfDue(nowMs, report);
  const uint16_t id = mqtt_.publish(topic("telemetry"), telemetryBody(writer_, "", reading, withReport), kQos1, false);
  if (id == 0) return false;
  inFlight_.push_back({nowMs, withReport != nullptr, reading});
  log_.debug("MQTT: published seq %llu as message %u: %s", static_cast<unsigned long long>(reading.seq),
             static_cast<unsigned>(id), reading.describe().c_str());
  return true;
}

void MqttDeviceClient::publishBacklog(uint64_t nowMs) {
  if (!dateBufferedReadings(nowMs)) return;  // batch records need a wall-clock time: wait for NTP
  const size_t count = std::min(settings_.batchSize, buffer_.size());
  const uint16_t id = mqtt_.publish(topic("telemetry/batch"), batchBody(writer_, "", buffer_, count), kQos1, false);
  if (id == 0) return;
  batchCount_ = count;
  batchSentAtMs_ = nowMs;
  log_.debug("MQTT: published a batch of %u buffered readings as message %u", static_cast<unsigned>(count),
             static_cast<unsigned>(id));
}

const char* MqttDeviceClient::stateDescription() const {
  static const char* const kStates[] = {"not provisioned", "MQTT: disconnected, connecting when the backoff allows",
                                        "MQTT: connecting", "MQTT: connected",
                                        "MQTT: credentials refused, retrying on a long backoff"};
  return kStates[static_cast<int>(state_)];
}

std::string MqttDeviceClient::connectionDescription() const {
  std::string text = "broker " + brokerUrl_ + ", awaiting receipt: " + std::to_string(inFlight_.size() + batchCount_);
  if (!lastProblem_.empty()) text += ", last problem: " + lastProblem_;
  return text;
}

}  // namespace thingsnxt
