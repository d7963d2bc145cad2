// The core's HttpTransport on the host, with libcurl (Debian's
// libcurl4-openssl-dev). The device's twin is Esp32Http.h.
#pragma once

#include <curl/curl.h>

#include <string>

#include "Http.h"
#include "KeyPin.h"

namespace thingsnxt {

class CurlHttpTransport : public HttpTransport {
 public:
  CurlHttpTransport();
  ~CurlHttpTransport() override;
  CurlHttpTransport(const CurlHttpTransport&) = delete;
  CurlHttpTransport& operator=(const CurlHttpTransport&) = delete;

  void setRootCa(const std::string& pem) override { rootCa_ = pem; }
  void setPinnedKey(const std::string& sha256Hex) override { pinnedKey_ = curlPinnedKey(sha256Hex); }
  HttpResponse send(const HttpRequest& request) override;

 private:
  CURL* curl_;  // one handle for every request, so connections are kept alive
  std::string rootCa_;
  std::string pinnedKey_;  // curl's "sha256//<base64>" form, or ""
};

}  // namespace thingsnxt
