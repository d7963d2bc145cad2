#include "DeviceCore.h"

#include <cstdio>

#include "IsoTime.h"

namespace thingsnxt {

DeviceCore::DeviceCore(const ClientSettings& settings, const char* transport, Board& board, JsonReader& reader,
                       JsonWriter& writer, PinMap& pins, SensorSource& sensors, Log& log, RecordStore* store)
    : settings_(settings),
      board_(board),
      reader_(reader),
      writer_(writer),
      pins_(pins),
      log_(log),
      sequence_(store, settings.sequenceBlock),
      buffer_(settings.bufferCapacity, store),
      backoff_(settings.backoffBaseMs, settings.backoffCapMs),
      credentialBackoff_(settings.credentialRetryBaseMs, settings.credentialRetryCapMs),
      transport_(transport),
      sensors_(sensors) {}

void DeviceCore::begin(const DeviceConfig& config) {
  pins_.begin(board_);
  boot_ = board_.random32();
  sequence_.begin();
  const size_t restored = buffer_.restore();
  const ResetReason reason = board_.resetReason();
  const bool abnormal = reason == ResetReason::Watchdog || reason == ResetReason::Panic || reason == ResetReason::Brownout;
  if (abnormal) {
    log_.warn("started after a %s reset", resetReasonName(reason));
  } else {
    log_.info("started after a %s reset", resetReasonName(reason));
  }
  log_.info("boot %s, next seq %llu, %u buffered readings restored from flash", formatBootId(boot_).c_str(),
            static_cast<unsigned long long>(sequence_.peek()), static_cast<unsigned>(restored));
  if (buffer_.undatableDropped() > 0) {
    log_.warn("dropped %u buffered readings of the last boot that never got a time",
              static_cast<unsigned>(buffer_.undatableDropped()));
  }
  configure(config);
}

Reading DeviceCore::takeReading(uint64_t nowMs) {
  Reading reading;
  reading.takenAtMonotonicMs = nowMs;
  reading.takenAtEpochMs = board_.epochMs();
  reading.seq = sequence_.next();
  reading.boot = boot_;
  for (size_t i = 0; i < pins_.size(); ++i) reading.add(pins_.at(i).key, static_cast<int32_t>(pins_.at(i).on));
  sensors_.read(reading);
  return reading;
}

const HealthReport* DeviceCore::healthReportIfDue(uint64_t nowMs, HealthReport& report) {
  if (healthReported_ && nowMs - lastHealthReportMs_ < settings_.healthReportIntervalMs) return nullptr;
  report.firmwareVersion = settings_.firmwareVersion;
  report.hasRssi = board_.wifiRssi(report.rssi);
  report.heapFree = board_.freeHeapBytes();
  report.heapMin = board_.minFreeHeapBytes();
  report.heapMaxBlock = board_.largestFreeBlockBytes();
  report.uptimeS = nowMs / 1000;
  report.resetReason = board_.resetReason();
  report.transport = transport_;
  return &report;
}

void DeviceCore::healthReportAccepted(uint64_t nowMs) {
  healthReported_ = true;
  lastHealthReportMs_ = nowMs;
  ++stats_.healthReports;
}

void DeviceCore::keepForLater(const Reading& reading) {
  const uint32_t failuresBefore = buffer_.flashWriteFailures();
  const bool roomLeft = buffer_.push(reading);
  const std::string ts = reading.takenAtEpochMs ? formatIsoUtc(reading.takenAtEpochMs) : "pending";
  log_.info("kept offline: ts=%s seq %llu: %s (buffer %u/%u)", ts.c_str(), static_cast<unsigned long long>(reading.seq),
            reading.describe().c_str(), static_cast<unsigned>(buffer_.size()), static_cast<unsigned>(buffer_.capacity()));
  if (!roomLeft) {
    log_.warn("offline buffer full: dropped the oldest reading (%u dropped so far)",
              static_cast<unsigned>(buffer_.overflowDropped()));
  }
  if (buffer_.flashWriteFailures() != failuresBefore) log_.warn("offline buffer: writing to flash failed; kept in RAM only");
}

// Counted back on the monotonic clock and written to flash again. Once set a
// time never changes, so a retried upload carries the same ts.
bool DeviceCore::dateBufferedReadings(uint64_t nowMs) {
  const uint64_t epochNowMs = board_.epochMs();
  if (epochNowMs == 0) return false;
  for (size_t i = 0; i < buffer_.size(); ++i) {
    Reading& reading = buffer_.at(i);
    if (reading.takenAtEpochMs != 0) continue;
    reading.takenAtEpochMs = epochNowMs - (nowMs - reading.takenAtMonotonicMs);
    buffer_.rewrite(i);
  }
  return true;
}

void DeviceCore::applyState(const std::string& body, const char* source) {
  if (!reader_.parse(body)) {
    log_.warn("%s: the response is not a JSON object; state not applied", source);
    return;
  }
  OtaOffer offer;
  if (otaListener_ != nullptr && readOtaOffer(reader_, offer)) otaListener_->offered(offer);
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

void DeviceCore::resetBackoff() {
  backoff_.reset();
  credentialBackoff_.reset();
  refusals_ = 0;
  quietUntilMs_ = 0;
}

void DeviceCore::retryLater(const char* what, const char* unavailable, const std::string& cause) {
  ++stats_.retries;
  const uint32_t delayMs = backoff_.nextDelayMs(board_.random32());
  quietUntilMs_ = board_.monotonicMs() + delayMs;
  log_.warn("%s: %s (%s); backing off %u ms (attempt %u)", what, unavailable, cause.c_str(),
            static_cast<unsigned>(delayMs), static_cast<unsigned>(backoff_.failures()));
}

void DeviceCore::rateLimited(const char* what, const std::string& cause, uint32_t retryAfterMs) {
  ++stats_.rateLimited;
  pacing_.onRateLimited();
  const uint32_t waitMs = retryAfterMs != 0 ? retryAfterMs : backoff_.nextDelayMs(board_.random32());
  quietUntilMs_ = board_.monotonicMs() + waitMs;
  log_.warn("%s: rate limited (%s); waiting %u ms, intervals now x%u", what, cause.c_str(), static_cast<unsigned>(waitMs),
            static_cast<unsigned>(pacing_.factor()));
}

uint32_t DeviceCore::waitLong() {
  const uint32_t delayMs = credentialBackoff_.nextDelayMs(board_.random32());
  quietUntilMs_ = board_.monotonicMs() + delayMs;
  return delayMs;
}

void DeviceCore::answered() {
  backoff_.reset();
  pacing_.onSuccess();
}

void DeviceCore::credentialsAccepted() {
  if (refusals_ == 0) return;
  log_.info("credentials accepted again after %u refusals", static_cast<unsigned>(refusals_));
  refusals_ = 0;
  credentialBackoff_.reset();
}

void DeviceCore::reportStats(TextSink& out) {
  char line[200];
  snprintf(line, sizeof line, "state: %s", stateDescription());
  out.writeLine(line);
  snprintf(line, sizeof line, "readings sent: %lu, dropped by server: %lu, boot %s, next seq %llu",
           static_cast<unsigned long>(stats_.readingsSent), static_cast<unsigned long>(stats_.readingsDropped),
           formatBootId(boot_).c_str(), static_cast<unsigned long long>(sequence_.peek()));
  out.writeLine(line);
  snprintf(line, sizeof line,
           "failed requests: %lu, retries: %lu, rate limited: %lu, credentials refused: %lu, interval factor: x%u",
           static_cast<unsigned long>(stats_.requestsFailed), static_cast<unsigned long>(stats_.retries),
           static_cast<unsigned long>(stats_.rateLimited), static_cast<unsigned long>(stats_.credentialRefusals),
           static_cast<unsigned>(pacing_.factor()));
  out.writeLine(line);
  snprintf(line, sizeof line, "offline buffer: %u/%u (%s), lost to overflow: %lu, flash write failures: %lu%s",
           static_cast<unsigned>(buffer_.size()), static_cast<unsigned>(buffer_.capacity()),
           buffer_.persistent() ? "flash" : "RAM", static_cast<unsigned long>(buffer_.overflowDropped()),
           static_cast<unsigned long>(buffer_.flashWriteFailures()),
           !buffer_.empty() && board_.epochMs() == 0 ? " (waiting for NTP time)" : "");
  out.writeLine(line);
  snprintf(line, sizeof line, "%s, LED changes: %lu", connectionDescription().c_str(),
           static_cast<unsigned long>(stats_.pinChanges));
  out.writeLine(line);
  snprintf(line, sizeof line, "uptime: %lu s, free heap: %lu bytes (minimum %lu, largest block %lu), reset: %s",
           static_cast<unsigned long>(board_.monotonicMs() / 1000), static_cast<unsigned long>(board_.freeHeapBytes()),
           static_cast<unsigned long>(board_.minFreeHeapBytes()),
           static_cast<unsigned long>(board_.largestFreeBlockBytes()), resetReasonName(board_.resetReason()));
  out.writeLine(line);
}

}  // namespace thingsnxt
