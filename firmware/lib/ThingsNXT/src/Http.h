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
  uint32_t timeoutMs = 10000;
};

// HttpResponse::status when no HTTP response arrived (DNS, connect, TLS, timeout).
constexpr int kNetworkError = -1;

struct HttpResponse {
  int status = kNetworkError;
  std::string body;
  std::string etag;
  std::string retryAfter;
  std::string networkError;  // what went wrong when status == kNetworkError
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // The root CA (PEM) that https URLs must chain to.
  virtual void setRootCa(const std::string& pem) = 0;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

}  // namespace thingsnxt
