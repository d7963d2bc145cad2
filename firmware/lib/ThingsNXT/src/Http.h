// The one HTTP operation the client needs, as an interface: the ESP32 sketch
// implements it with HTTPClient + WiFiClientSecure, the host with libcurl.
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

enum class HttpMethod { Get, Post };

struct HttpRequest {
  HttpMethod method = HttpMethod::Get;
  std::string url;
  std::string body;         // JSON for POST, empty for GET
  std::string bearerToken;  // sent as "Authorization: Bearer …" when not empty
  std::string ifNoneMatch;  // ETag of the state the device already has
  std::string range;        // sent as "Range: …" when not empty (a firmware image's next chunk: "bytes=0-16383")
  uint32_t timeoutMs = 10000;
};

// Bounds on the parts of a request that HttpRequest::timeoutMs does not
// cover on the ESP32 (Esp32Http.h): TCP connect and the TLS handshake, whose
// default there is 120 s. Every transport applies them, so that the longest
// a request can block the loop is known (worstCaseRequestMs in
// DeviceClient.h) and the task watchdog can be set above it.
constexpr uint32_t kConnectTimeoutMs = 5000;
constexpr uint32_t kTlsHandshakeTimeoutMs = 10000;

// HttpResponse::status when no HTTP response arrived (DNS, connect, TLS, timeout).
constexpr int kNetworkError = -1;

struct HttpResponse {
  int status = kNetworkError;
  std::string body;  // may hold any bytes (a firmware chunk)
  std::string etag;
  std::string retryAfter;
  std::string networkError;  // what went wrong when status == kNetworkError
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // The root CA (PEM) that https URLs must chain to.
  virtual void setRootCa(const std::string& pem) = 0;
  // The SHA-256 of the server's public key (64 hex characters, see
  // KeyPin.h) that https connections must also present; "" for none.
  virtual void setPinnedKey(const std::string& sha256Hex) = 0;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

}  // namespace thingsnxt
