#include "Config.h"

#include <cstring>

#include "Url.h"

namespace thingsnxt {

namespace {

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

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

namespace {

UrlSecurity classifyParsed(bool parsed, const Url& url) {
  if (!parsed) return UrlSecurity::Invalid;
  if (url.scheme == "https" || url.scheme == "mqtts") return UrlSecurity::Https;
  return isDevelopmentHost(url) ? UrlSecurity::DevelopmentHttp : UrlSecurity::PublicHttp;
}

}  // namespace

UrlSecurity classifyBaseUrl(const std::string& url) {
  Url parsed;
  std::string why;
  return classifyParsed(parseUrl(url, parsed, why), parsed);
}

UrlSecurity classifyBrokerUrl(const std::string& url) {
  Url parsed;
  std::string why;
  return classifyParsed(parseBrokerUrl(url, parsed, why), parsed);
}

std::string maskToken(const std::string& token) {
  if (token.empty()) return "(not set)";
  std::string shown = token.size() > 12 ? token.substr(0, 4) + "..." + token.substr(token.size() - 4) : "...";
  return shown + " (" + std::to_string(token.size()) + " chars)";
}

}  // namespace thingsnxt
