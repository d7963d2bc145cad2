// Over-the-air updates, the device side (docs/OTA.md): notice the `ota`
// offer in the server's answers, download the image a chunk at a time with
// HTTP Range (a dropped connection resumes at the first byte not yet
// written), hash while writing, check size and SHA-256 before the image is
// made bootable, report every step, and after the reboot confirm the new
// image only once it has reached the server — else roll back to the old one.
//
// tick() sends at most one request (one chunk, or one report) and never
// sleeps, like DeviceClient::tick(), so the loop never waits longer than one
// chunk. The platform parts are interfaces: the ESP32 sketch implements them
// with the Update library, esp_ota_* and mbedTLS (Esp32Ota.h), the host with
// a file and OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "Backoff.h"
#include "Http.h"
#include "Json.h"
#include "Log.h"
#include "Storage.h"

namespace thingsnxt {

struct OtaOffer {
  std::string version;
  std::string sha256;  // 64 lowercase hex
  std::string path;    // on the server: /devices/{id}/firmware/{sha256}
  uint32_t size = 0;
};

// The `ota` member of an answer the reader has parsed; false when there is
// none, or it is not one this firmware can act on.
bool readOtaOffer(const JsonReader& reader, OtaOffer& offer);

// Told of every offer DeviceClient finds in an answer.
class OtaListener {
 public:
  virtual ~OtaListener() = default;
  virtual void offered(const OtaOffer& offer) = 0;
};

class Sha256 {
 public:
  virtual ~Sha256() = default;
  virtual void begin() = 0;
  virtual void update(const uint8_t* data, size_t size) = 0;
  virtual std::string hexDigest() = 0;  // 64 lowercase hex of everything since begin()
};

// Where an image goes, and the bootloader's say in which image runs.
class FirmwareSlot {
 public:
  virtual ~FirmwareSlot() = default;
  virtual uint32_t capacity() = 0;  // the largest image the free OTA partition takes
  virtual bool begin(uint32_t size) = 0;
  virtual bool write(const uint8_t* data, size_t size) = 0;
  virtual bool finish() = 0;  // complete and verified: boot it next
  virtual void abort() = 0;
  virtual std::string lastError() = 0;
  // Booted into a new image: keep it (cancels the bootloader's rollback), or go back to the previous one and reboot.
  virtual void markValid() = 0;
  virtual void rollBack() = 0;
};

struct OtaSettings {
  uint32_t chunkBytes = 16384;
  uint32_t progressEveryBytes = 131072;  // a `downloading` report at most this often
  uint32_t requestTimeoutMs = 15000;
  uint32_t maxFailures = 10;  // consecutive chunk requests without an answer (or 5xx) before the update fails
  uint32_t backoffBaseMs = 1000;
  uint32_t backoffCapMs = 60000;
  uint32_t confirmWithinMs = 300000;  // a new image that has not reached the server by then is rolled back
};

class OtaUpdater : public OtaListener {
 public:
  enum class State { Idle, Downloading, Verifying, Applied, Confirming };

  // `memo` keeps, across the reboot, which version was applied: null keeps it in RAM only.
  OtaUpdater(const OtaSettings& settings, HttpTransport& transport, JsonWriter& writer, Sha256& hash, FirmwareSlot& slot,
             Log& log, RecordStore* memo = nullptr);

  // At boot: the version running, and whether the bootloader waits for it to be confirmed (ESP_OTA_IMG_PENDING_VERIFY).
  void begin(const std::string& runningVersion, bool pendingVerify, uint64_t nowMs);
  void setServer(const std::string& baseUrl, const std::string& deviceId, const std::string& token);
  void offered(const OtaOffer& offer) override;
  // At most one request; true when it sent one.
  bool tick(uint64_t nowMs, uint32_t random32);

  State state() const { return state_; }
  // The image is applied and the server told: restart into it.
  bool rebootRequested() const { return state_ == State::Applied && reports_ == 0; }
  uint32_t received() const { return received_; }
  const std::string& failure() const { return failure_; }

 private:
  enum Report : uint8_t { kDownloading = 1, kVerifying = 2, kApplied = 4, kFailed = 8, kBooted = 16 };

  void start(uint64_t nowMs);
  void fetchChunk(uint64_t nowMs, uint32_t random32);
  void verify();
  void fail(const std::string& why);
  void sendReport(uint64_t nowMs, uint32_t random32);
  void confirmed();
  void waitAfterFailure(uint64_t nowMs, uint32_t random32, const HttpResponse& response);
  void rememberApplied(const std::string& version);
  std::string appliedVersion();

  OtaSettings settings_;
  HttpTransport& transport_;
  JsonWriter& writer_;
  Sha256& hash_;
  FirmwareSlot& slot_;
  Log& log_;
  RecordStore* memo_;
  Backoff backoff_;
  std::string baseUrl_, deviceId_, token_;
  std::string running_;
  std::string memoVersion_;  // without a memo store
  bool pendingVerify_ = false;
  uint64_t bootMs_ = 0;

  State state_ = State::Idle;
  bool offerWaiting_ = false;
  OtaOffer offer_;
  std::string refusedSha_;  // failed in this boot: not tried again until the server offers another
  uint32_t received_ = 0;
  uint32_t reportedBytes_ = 0;
  uint8_t reports_ = 0;
  uint64_t quietUntilMs_ = 0;
  std::string failure_;
};

}  // namespace thingsnxt
