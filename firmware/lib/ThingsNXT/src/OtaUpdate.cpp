#include "OtaUpdate.h"

#include <cstdio>
#include <cstdlib>

namespace thingsnxt {

namespace {

constexpr const char* kMemoKey = "ota";
constexpr size_t kMaxVersion = 32;  // the server's limit (FirmwareIn.version)

bool isSha256Hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool answered(const HttpResponse& response) { return response.status >= 200 && response.status < 300; }

}  // namespace

bool readOtaOffer(const JsonReader& reader, OtaOffer& offer) {
  const JsonValue version = reader.member("ota", "version");
  const JsonValue sha256 = reader.member("ota", "sha256");
  const JsonValue url = reader.member("ota", "url");
  const JsonValue size = reader.member("ota", "size");
  if (version.type != JsonType::String || sha256.type != JsonType::String || url.type != JsonType::String ||
      size.type != JsonType::Number) {
    return false;
  }
  if (!isSha256Hex(sha256.text) || url.text.empty() || url.text[0] != '/' || version.text.empty() ||
      version.text.size() > kMaxVersion || size.number < 1 || size.number > 4294967295.0) {
    return false;
  }
  offer.version = version.text;
  offer.sha256 = sha256.text;
  offer.path = url.text;
  offer.size = static_cast<uint32_t>(size.number);
  return true;
}

OtaUpdater::OtaUpdater(const OtaSettings& settings, HttpTransport& transport, JsonWriter& writer, Sha256& hash,
                       FirmwareSlot& slot, Log& log, RecordStore* memo)
    : settings_(settings),
      transport_(transport),
      writer_(writer),
      hash_(hash),
      slot_(slot),
      log_(log),
      memo_(memo),
      backoff_(settings.backoffBaseMs, settings.backoffCapMs) {}

void OtaUpdater::begin(const std::string& runningVersion, bool pendingVerify, uint64_t nowMs) {
  running_ = runningVersion;
  pendingVerify_ = pendingVerify;
  bootMs_ = nowMs;
  const std::string applied = appliedVersion();
  if (pendingVerify || !applied.empty()) {
    // Say which version booted: the one applied (the update is done), or the old one (the bootloader rolled back).
    state_ = State::Confirming;
    reports_ |= kBooted;
    if (!applied.empty() && applied != runningVersion) log_.warn("ota: %s was applied but %s booted", applied.c_str(), runningVersion.c_str());
  }
}

void OtaUpdater::setServer(const std::string& baseUrl, const std::string& deviceId, const std::string& token) {
  baseUrl_ = baseUrl;
  deviceId_ = deviceId;
  token_ = token;
}

void OtaUpdater::offered(const OtaOffer& offer) {
  if (offer.sha256 == refusedSha_) return;
  if (state_ == State::Downloading && offer.sha256 == offer_.sha256) return;
  if (state_ == State::Verifying || state_ == State::Applied || state_ == State::Confirming) return;
  if (offer.version == running_) {
    // Already running it (flashed by cable, or the answer to "booted" was lost): say so, and the server is done.
    state_ = State::Confirming;
    reports_ |= kBooted;
    return;
  }
  if (state_ == State::Downloading) {
    log_.info("ota: the server now offers %s instead; dropping %s", offer.version.c_str(), offer_.version.c_str());
    slot_.abort();
    state_ = State::Idle;
  }
  offer_ = offer;
  offerWaiting_ = true;
}

bool OtaUpdater::tick(uint64_t nowMs, uint32_t random32) {
  if (offerWaiting_) {
    offerWaiting_ = false;
    start(nowMs);
  }
  if (nowMs < quietUntilMs_ || baseUrl_.empty()) return false;
  if (reports_ != 0) {
    sendReport(nowMs, random32);
    return true;
  }
  if (state_ == State::Downloading) {
    fetchChunk(nowMs, random32);
    return true;
  }
  if (state_ == State::Verifying) verify();
  return false;
}

void OtaUpdater::start(uint64_t nowMs) {
  (void)nowMs;
  received_ = 0;
  reportedBytes_ = 0;
  failure_.clear();
  backoff_.reset();
  const uint32_t room = slot_.capacity();
  if (offer_.size > room) {
    char why[120];
    snprintf(why, sizeof why, "the image (%lu bytes) is larger than the OTA partition (%lu bytes)",
             static_cast<unsigned long>(offer_.size), static_cast<unsigned long>(room));
    refusedSha_ = offer_.sha256;
    fail(why);
    return;
  }
  if (!slot_.begin(offer_.size)) {
    refusedSha_ = offer_.sha256;
    fail("cannot start writing the image: " + slot_.lastError());
    return;
  }
  hash_.begin();
  state_ = State::Downloading;
  reports_ |= kDownloading;
  log_.info("ota: downloading %s (%lu bytes)", offer_.version.c_str(), static_cast<unsigned long>(offer_.size));
}

void OtaUpdater::fetchChunk(uint64_t nowMs, uint32_t random32) {
  const uint32_t remaining = offer_.size - received_;
  const uint32_t want = remaining < settings_.chunkBytes ? remaining : settings_.chunkBytes;
  HttpRequest request;
  request.url = baseUrl_ + offer_.path;
  request.bearerToken = token_;
  request.timeoutMs = settings_.requestTimeoutMs;
  char range[48];
  snprintf(range, sizeof range, "bytes=%lu-%lu", static_cast<unsigned long>(received_),
           static_cast<unsigned long>(received_ + want - 1));
  request.range = range;
  const HttpResponse response = transport_.send(request);

  const std::string& body = response.body;
  const bool whole = response.status == 200 && received_ == 0 && body.size() == offer_.size;
  if (response.status == 206 || whole) {
    if (!whole && body.size() > want) {
      fail("the server sent more than the range asked for");
      return;
    }
    if (body.empty()) {
      waitAfterFailure(nowMs, random32, response);
      return;
    }
    // A shorter answer (the connection ended early) is kept: the next range starts at the first byte missing.
    if (!slot_.write(reinterpret_cast<const uint8_t*>(body.data()), body.size())) {
      fail("writing the image failed: " + slot_.lastError());
      return;
    }
    hash_.update(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    received_ += static_cast<uint32_t>(body.size());
    backoff_.reset();
    if (received_ == offer_.size) {
      state_ = State::Verifying;
      reports_ |= kVerifying;
    } else if (received_ - reportedBytes_ >= settings_.progressEveryBytes) {
      reports_ |= kDownloading;
    }
    return;
  }
  if (response.status == 401 || response.status == 403 || response.status == 404) {
    // Cancelled or replaced on the server (or the token changed): nothing to report it to.
    log_.info("ota: the server no longer sends %s (HTTP %d); dropped", offer_.version.c_str(), response.status);
    slot_.abort();
    state_ = State::Idle;
    return;
  }
  if (response.status >= 400 && response.status < 500 && response.status != 408 && response.status != 429) {
    char why[64];
    snprintf(why, sizeof why, "the download was refused (HTTP %d)", response.status);
    fail(why);
    return;
  }
  if (response.status != 429 && backoff_.failures() + 1 >= settings_.maxFailures) {
    char why[160];
    snprintf(why, sizeof why, "the download failed %lu times in a row at byte %lu (%s)",
             static_cast<unsigned long>(settings_.maxFailures), static_cast<unsigned long>(received_),
             response.status == kNetworkError ? response.networkError.c_str() : "server error");
    fail(why);
    return;
  }
  waitAfterFailure(nowMs, random32, response);
}

void OtaUpdater::waitAfterFailure(uint64_t nowMs, uint32_t random32, const HttpResponse& response) {
  uint32_t delayMs = 0;
  if (response.status == 429 && !response.retryAfter.empty()) {
    delayMs = static_cast<uint32_t>(strtoul(response.retryAfter.c_str(), nullptr, 10)) * 1000;
  }
  if (delayMs == 0) delayMs = backoff_.nextDelayMs(random32);
  quietUntilMs_ = nowMs + delayMs;
  log_.warn("ota: chunk at byte %lu failed (HTTP %d); again in %lu ms", static_cast<unsigned long>(received_),
            response.status, static_cast<unsigned long>(delayMs));
}

void OtaUpdater::verify() {
  const std::string digest = hash_.hexDigest();
  if (received_ != offer_.size) {
    fail("the image is not the size offered");
    return;
  }
  if (digest != offer_.sha256) {
    refusedSha_ = offer_.sha256;
    fail("SHA-256 mismatch: got " + digest);
    return;
  }
  if (!slot_.finish()) {
    fail("the image could not be made bootable: " + slot_.lastError());
    return;
  }
  rememberApplied(offer_.version);
  state_ = State::Applied;
  reports_ |= kApplied;
  log_.info("ota: %s verified and applied; restarting into it", offer_.version.c_str());
}

void OtaUpdater::fail(const std::string& why) {
  if (state_ == State::Downloading || state_ == State::Verifying) slot_.abort();
  failure_ = why;
  state_ = State::Idle;
  reports_ = static_cast<uint8_t>((reports_ & kBooted) | kFailed);
  backoff_.reset();
  log_.error("ota: update to %s failed: %s", offer_.version.c_str(), why.c_str());
}

void OtaUpdater::sendReport(uint64_t nowMs, uint32_t random32) {
  static const Report kOrder[] = {kDownloading, kVerifying, kApplied, kFailed, kBooted};
  Report report = kDownloading;
  for (Report candidate : kOrder) {
    if (reports_ & candidate) {
      report = candidate;
      break;
    }
  }
  writer_.begin();
  switch (report) {
    case kDownloading:
      writer_.add("state", "downloading");
      writer_.add("bytes", static_cast<uint64_t>(received_));
      reportedBytes_ = received_;
      break;
    case kVerifying:
      writer_.add("state", "verifying");
      break;
    case kApplied:
      writer_.add("state", "applied");
      break;
    case kFailed:
      writer_.add("state", "failed");
      writer_.add("reason", failure_.c_str());
      break;
    case kBooted:
      writer_.add("state", "booted");
      writer_.add("version", running_.c_str());
      break;
  }
  HttpRequest request;
  request.method = HttpMethod::Post;
  request.url = baseUrl_ + "/devices/" + deviceId_ + "/ota/status";
  request.bearerToken = token_;
  request.body = writer_.finish();
  request.timeoutMs = settings_.requestTimeoutMs;
  const HttpResponse response = transport_.send(request);

  // Any HTTP answer means the server heard it (a 409: nothing in progress there any more); only the outcomes are sent again.
  const bool heard = response.status != kNetworkError && response.status < 500 && response.status != 429;
  const bool retried = (report == kFailed || report == kBooted) && !heard;
  if (!retried) {
    reports_ = static_cast<uint8_t>(reports_ & ~report);
    if (report == kBooted && heard) confirmed();
    if (!answered(response)) log_.warn("ota: the %d report got HTTP %d", report, response.status);
    return;
  }
  if (report == kBooted && pendingVerify_ && nowMs - bootMs_ >= settings_.confirmWithinMs) {
    log_.error("ota: %s never reached the server; rolling back", running_.c_str());
    reports_ = 0;
    state_ = State::Idle;
    slot_.rollBack();
    return;
  }
  if (report == kFailed && backoff_.failures() + 1 >= settings_.maxFailures) {
    reports_ = static_cast<uint8_t>(reports_ & ~report);
    return;
  }
  waitAfterFailure(nowMs, random32, response);
}

void OtaUpdater::confirmed() {
  if (pendingVerify_) {
    slot_.markValid();
    pendingVerify_ = false;
    log_.info("ota: %s reached the server; keeping it", running_.c_str());
  }
  rememberApplied("");
  state_ = State::Idle;
  backoff_.reset();
}

void OtaUpdater::rememberApplied(const std::string& version) {
  memoVersion_ = version;
  if (memo_ == nullptr) return;
  uint8_t record[kMaxVersion + 8];
  ByteWriter writer(record, sizeof record);
  writer.u8(static_cast<uint8_t>(version.size()));
  writer.bytes(version.data(), version.size());
  const size_t size = writer.sealed();
  if (!writer.ok() || !memo_->write(kMemoKey, record, size)) log_.warn("ota: could not keep the applied version in flash");
}

std::string OtaUpdater::appliedVersion() {
  if (memo_ == nullptr) return memoVersion_;
  uint8_t record[kMaxVersion + 8];
  const size_t size = memo_->read(kMemoKey, record, sizeof record);
  ByteReader reader(record, size);
  if (size == 0 || !reader.unseal()) return "";
  const uint8_t length = reader.u8();
  if (length > kMaxVersion) return "";
  char version[kMaxVersion];
  reader.bytes(version, length);
  return reader.ok() ? std::string(version, length) : "";
}

}  // namespace thingsnxt
