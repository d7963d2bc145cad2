// The server's device endpoints (docs/ESP32_TELEMETRY_API_GUIDE.md).
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

class ApiUrls {
 public:
  ApiUrls() = default;
  // A trailing slash on the base URL is ignored; a path prefix is kept.
  ApiUrls(const std::string& baseUrl, const std::string& deviceId);

  std::string telemetry() const;  // POST /devices/{id}/telemetry
  std::string batch() const;      // POST /devices/{id}/telemetry/batch
  // GET /telemetry/latest; with waitSeconds > 0 the server holds the request
  // until the state changes or the wait ends (long-poll).
  std::string latestState(uint32_t waitSeconds) const;
  std::string health() const;  // GET /health
  std::string provision() const;  // POST /devices/provision (needs no device id)

 private:
  std::string base_;
  std::string deviceId_;
};

}  // namespace thingsnxt
