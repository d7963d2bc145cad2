#include "ApiUrls.h"

namespace thingsnxt {

ApiUrls::ApiUrls(const std::string& baseUrl, const std::string& deviceId)
    : base_(baseUrl), deviceId_(deviceId) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

std::string ApiUrls::telemetry() const { return base_ + "/devices/" + deviceId_ + "/telemetry"; }

std::string ApiUrls::batch() const { return telemetry() + "/batch"; }

std::string ApiUrls::latestState(uint32_t waitSeconds) const {
  std::string url = base_ + "/telemetry/latest";
  if (waitSeconds > 0) url += "?wait=" + std::to_string(waitSeconds);
  return url;
}

std::string ApiUrls::health() const { return base_ + "/health"; }

std::string ApiUrls::provision() const { return base_ + "/devices/provision"; }

}  // namespace thingsnxt
