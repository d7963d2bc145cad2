#pragma once

#include <HTTPClient.h>
#include <ThingsNXT.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>

#include <algorithm>

// The core's HttpTransport on the ESP32. https URLs go through
// WiFiClientSecure checked against the root CA; http URLs (development
// servers only: the core refuses public ones) through a plain WiFiClient.
// One HTTPClient with keep-alive, because a TLS handshake costs the ESP32
// about a second.
class Esp32HttpTransport : public thingsnxt::HttpTransport {
 public:
  void setRootCa(const std::string& pem) override {
    rootCa_ = pem;  // WiFiClientSecure keeps the pointer, not a copy
    secureClient_.setCACert(rootCa_.c_str());
  }

  thingsnxt::HttpResponse send(const thingsnxt::HttpRequest& request) override {
    thingsnxt::HttpResponse response;
    const bool https = request.url.rfind("https://", 0) == 0;
    WiFiClient& client = https ? static_cast<WiFiClient&>(secureClient_) : plainClient_;
    if (!http_.begin(client, String(request.url.c_str()))) {
      response.networkError = "unusable URL";
      return response;
    }
    http_.setReuse(true);
    http_.setConnectTimeout(kConnectTimeoutMs);
    // HTTPClient takes the read timeout as 16-bit milliseconds.
    http_.setTimeout(static_cast<uint16_t>(std::min<uint32_t>(request.timeoutMs, 65535)));
    static const char* kWantedHeaders[] = {"ETag", "Retry-After"};
    http_.collectHeaders(kWantedHeaders, 2);
    if (!request.bearerToken.empty()) {
      http_.addHeader("Authorization", String("Bearer ") + request.bearerToken.c_str());
    }
    if (!request.ifNoneMatch.empty()) http_.addHeader("If-None-Match", request.ifNoneMatch.c_str());

    int status;
    if (request.method == thingsnxt::HttpMethod::Post) {
      http_.addHeader("Content-Type", "application/json");
      status = http_.POST(reinterpret_cast<uint8_t*>(const_cast<char*>(request.body.data())), request.body.size());
    } else {
      status = http_.GET();
    }
    if (status > 0) {
      response.status = status;
      response.body = http_.getString().c_str();
      response.etag = http_.header("ETag").c_str();
      response.retryAfter = http_.header("Retry-After").c_str();
    } else {
      response.networkError = HTTPClient::errorToString(status).c_str();  // connect, TLS, timeout…
    }
    http_.end();
    return response;
  }

 private:
  static constexpr int32_t kConnectTimeoutMs = 5000;

  WiFiClientSecure secureClient_;
  WiFiClient plainClient_;
  HTTPClient http_;
  std::string rootCa_;
};
