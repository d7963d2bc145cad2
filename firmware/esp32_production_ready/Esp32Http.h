#pragma once

#include <HTTPClient.h>
#include <ThingsNXT.h>
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>

// The core's HttpTransport on the ESP32. https URLs go through
// WiFiClientSecure checked against the root CA; http URLs (development
// servers only: the core refuses public ones) through a plain WiFiClient.
// One HTTPClient with keep-alive, because a TLS handshake costs the ESP32
// about a second. Every phase is bounded (Http.h): connect by
// kConnectTimeoutMs, the TLS handshake by kTlsHandshakeTimeoutMs (its
// default is 120 s), the answer by the request's timeout. With a key pin
// (`set pin`) the TLS connection is opened here first and its public key
// checked (KeyPin.h) before HTTPClient, which reuses a connected client,
// sends anything: the token never reaches a server with another key.
class Esp32HttpTransport : public thingsnxt::HttpTransport {
 public:
  void setRootCa(const std::string& pem) override {
    rootCa_ = pem;  // WiFiClientSecure keeps the pointer, not a copy
    secureClient_.setCACert(rootCa_.c_str());
    secureClient_.setHandshakeTimeout(thingsnxt::kTlsHandshakeTimeoutMs / 1000);
  }

  void setPinnedKey(const std::string& sha256Hex) override {
    pin_ = sha256Hex;
    secureClient_.stop();  // the open connection was not checked against this pin
  }

  thingsnxt::HttpResponse send(const thingsnxt::HttpRequest& request) override {
    thingsnxt::HttpResponse response;
    const bool https = request.url.rfind("https://", 0) == 0;
    WiFiClient& client = https ? static_cast<WiFiClient&>(secureClient_) : plainClient_;
    if (https && !pin_.empty() && !connectPinned(request.url, response)) return response;
    if (!http_.begin(client, String(request.url.c_str()))) {
      response.networkError = "unusable URL";
      return response;
    }
    http_.setReuse(true);
    http_.setConnectTimeout(static_cast<int32_t>(thingsnxt::kConnectTimeoutMs));
    // HTTPClient takes the read timeout as 16-bit milliseconds.
    http_.setTimeout(static_cast<uint16_t>(std::min<uint32_t>(request.timeoutMs, 65535)));
    static const char* kWantedHeaders[] = {"ETag", "Retry-After"};
    http_.collectHeaders(kWantedHeaders, 2);
    if (!request.bearerToken.empty()) {
      http_.addHeader("Authorization", String("Bearer ") + request.bearerToken.c_str());
    }
    if (!request.ifNoneMatch.empty()) http_.addHeader("If-None-Match", request.ifNoneMatch.c_str());
    if (!request.range.empty()) http_.addHeader("Range", request.range.c_str());

    int status;
    if (request.method == thingsnxt::HttpMethod::Post) {
      http_.addHeader("Content-Type", "application/json");
      status = http_.POST(reinterpret_cast<uint8_t*>(const_cast<char*>(request.body.data())), request.body.size());
    } else {
      status = http_.GET();
    }
    if (status > 0) {
      response.status = status;
      const String body = http_.getString();
      // By length, not up to the first NUL: a firmware chunk is binary.
      response.body.assign(body.c_str(), body.length());
      response.etag = http_.header("ETag").c_str();
      response.retryAfter = http_.header("Retry-After").c_str();
    } else {
      response.networkError = HTTPClient::errorToString(status).c_str();  // connect, TLS, timeout…
    }
    http_.end();
    return response;
  }

 private:
  // Opens the TLS connection (unless one is open) and checks the server's
  // public key against the pin; false, with the reason, when it does not match.
  bool connectPinned(const std::string& url, thingsnxt::HttpResponse& response) {
    if (secureClient_.connected()) return true;  // checked when it was opened
    thingsnxt::Url parsed;
    std::string why;
    if (!thingsnxt::parseUrl(url, parsed, why)) {
      response.networkError = why;
      return false;
    }
    if (!secureClient_.connect(parsed.host.c_str(), parsed.port)) {
      response.networkError = "TLS connection failed";
      return false;
    }
    uint8_t digest[thingsnxt::kSha256Bytes];
    if (publicKeyDigest(digest) && thingsnxt::keyPinAccepts(pin_, digest)) return true;
    secureClient_.stop();
    response.networkError = "the server's public key does not match the pin";
    return false;
  }

  // SHA-256 over the DER SubjectPublicKeyInfo, as KeyPin.h defines the pin.
  bool publicKeyDigest(uint8_t (&digest)[thingsnxt::kSha256Bytes]) {
    const mbedtls_x509_crt* certificate = secureClient_.getPeerCertificate();
    if (certificate == nullptr) return false;
    static unsigned char der[kMaxPublicKeyDer];
    // mbedTLS 2 takes a non-const context; the key is only read.
    const int length = mbedtls_pk_write_pubkey_der(const_cast<mbedtls_pk_context*>(&certificate->pk), der, sizeof der);
    if (length <= 0) return false;
    mbedtls_sha256(der + sizeof der - length, static_cast<size_t>(length), digest, 0);  // written at the end
    return true;
  }

  static constexpr size_t kMaxPublicKeyDer = 600;  // an RSA-4096 SubjectPublicKeyInfo is 550 bytes

  std::string pin_;

  WiFiClientSecure secureClient_;
  WiFiClient plainClient_;
  HTTPClient http_;
  std::string rootCa_;
};
