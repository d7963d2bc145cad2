#include "CurlHttp.h"

#include <algorithm>
#include <cctype>

namespace thingsnxt {

namespace {

size_t appendBody(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

// Keeps the two response headers the protocol uses.
size_t readHeader(char* data, size_t size, size_t count, void* target) {
  const std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const size_t begin = line.find_first_not_of(" \t", colon + 1);
    const size_t end = line.find_last_not_of(" \t\r\n");
    const std::string value = begin == std::string::npos || end < begin ? "" : line.substr(begin, end - begin + 1);
    HttpResponse* response = static_cast<HttpResponse*>(target);
    if (name == "etag") response->etag = value;
    if (name == "retry-after") response->retryAfter = value;
  }
  return size * count;
}

}  // namespace

CurlHttpTransport::CurlHttpTransport() : curl_(curl_easy_init()) {}

CurlHttpTransport::~CurlHttpTransport() { curl_easy_cleanup(curl_); }

HttpResponse CurlHttpTransport::send(const HttpRequest& request) {
  HttpResponse response;
  curl_easy_reset(curl_);  // keeps the connection cache, forgets the last request's options
  curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeoutMs));
  // Connect and TLS handshake are bounded by kConnectTimeoutMs (Http.h); curl
  // counts the handshake in its connect phase, so both budgets go there.
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min(static_cast<long>(kConnectTimeoutMs + kTlsHandshakeTimeoutMs), static_cast<long>(request.timeoutMs)));
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, readHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
  curl_blob ca = {const_cast<char*>(rootCa_.data()), rootCa_.size(), CURL_BLOB_NOCOPY};
  if (!rootCa_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO_BLOB, &ca);
  if (!pinnedKey_.empty()) curl_easy_setopt(curl_, CURLOPT_PINNEDPUBLICKEY, pinnedKey_.c_str());

  curl_slist* headers = nullptr;
  if (request.method == HttpMethod::Post) {
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  }
  if (!request.bearerToken.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + request.bearerToken).c_str());
  }
  if (!request.ifNoneMatch.empty()) {
    headers = curl_slist_append(headers, ("If-None-Match: " + request.ifNoneMatch).c_str());
  }
  if (!request.range.empty()) {
    headers = curl_slist_append(headers, ("Range: " + request.range).c_str());
  }
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);

  const CURLcode result = curl_easy_perform(curl_);
  curl_slist_free_all(headers);
  if (result != CURLE_OK) {
    response = HttpResponse();
    response.networkError = curl_easy_strerror(result);
    return response;
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace thingsnxt
