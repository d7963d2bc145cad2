#include "Config.h"

#include <cstdlib>
#include <cstring>

namespace thingsnxt {

namespace {

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool startsWith(const std::string& text, const char* prefix) {
  return text.compare(0, strlen(prefix), prefix) == 0;
}

bool endsWith(const std::string& text, const char* suffix) {
  size_t length = strlen(suffix);
  return text.size() >= length && text.compare(text.size() - length, length, suffix) == 0;
}

// The host part of scheme://host[:port][/path], lower-cased.
std::string hostOf(const std::string& url, size_t schemeLength) {
  size_t end = url.find_first_of(":/?#", schemeLength);
  std::string host = url.substr(schemeLength, end == std::string::npos ? std::string::npos : end - schemeLength);
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return host;
}

// Dotted-quad IPv4 address; false for anything else.
bool parseIpv4(const std::string& host, int octets[4]) {
  const char* p = host.c_str();
  for (int i = 0; i < 4; ++i) {
    if (!isDigit(*p)) return false;
    char* end = nullptr;
    long value = strtol(p, &end, 10);
    if (value > 255 || end - p > 3) return false;
    octets[i] = static_cast<int>(value);
    p = end;
    if (i < 3 && *p++ != '.') return false;
  }
  return *p == '\0';
}

bool isDevelopmentHost(const std::string& host) {
  if (host == "localhost" || endsWith(host, ".local") || endsWith(host, ".localhost")) return true;
  int ip[4];
  if (!parseIpv4(host, ip)) return false;
  return ip[0] == 127 || ip[0] == 10 || (ip[0] == 192 && ip[1] == 168) ||
         (ip[0] == 172 && ip[1] >= 16 && ip[1] <= 31);
}

}  // namespace

bool isValidDeviceId(const std::string& id) {
  if (id.size() != 24) return false;
  for (char c : id) {
    if (!isLowerHex(c)) return false;
  }
  return true;
}

bool isValidDeviceToken(const std::string& token) {
  if (token.size() < 16 || token.size() > 128) return false;
  for (char c : token) {
    if (!isAlpha(c) && !isDigit(c) && c != '-' && c != '_') return false;
  }
  return true;
}

bool isValidTelemetryKey(const char* key) {
  size_t length = strlen(key);
  if (length == 0 || length > 64) return false;
  if (!isAlpha(key[0]) && key[0] != '_') return false;
  for (size_t i = 1; i < length; ++i) {
    char c = key[i];
    if (!isAlpha(c) && !isDigit(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

UrlSecurity classifyBaseUrl(const std::string& url) {
  size_t schemeLength;
  bool https;
  if (startsWith(url, "https://")) {
    schemeLength = 8;
    https = true;
  } else if (startsWith(url, "http://")) {
    schemeLength = 7;
    https = false;
  } else {
    return UrlSecurity::Invalid;
  }
  if (url.find_first_of(" \t\r\n") != std::string::npos) return UrlSecurity::Invalid;
  std::string host = hostOf(url, schemeLength);
  if (host.empty()) return UrlSecurity::Invalid;
  if (https) return UrlSecurity::Https;
  return isDevelopmentHost(host) ? UrlSecurity::DevelopmentHttp : UrlSecurity::PublicHttp;
}

std::string maskToken(const std::string& token) {
  if (token.empty()) return "(not set)";
  std::string shown = token.size() > 12 ? token.substr(0, 4) + "..." + token.substr(token.size() - 4) : "...";
  return shown + " (" + std::to_string(token.size()) + " chars)";
}

}  // namespace thingsnxt
