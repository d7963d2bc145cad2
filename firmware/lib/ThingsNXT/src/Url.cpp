#include "Url.h"

#include <cstdlib>
#include <cstring>

namespace thingsnxt {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool isAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lowered(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool endsWith(const std::string& text, const char* suffix) {
  const size_t length = strlen(suffix);
  return text.size() >= length && text.compare(text.size() - length, length, suffix) == 0;
}

// Letters, digits, '-' and '.', as DNS names are; no empty labels.
bool isHostName(const std::string& host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.find("..") != std::string::npos) return false;
  for (char c : host) {
    if (!isAlnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// 1 to 8 groups of 1–4 hex digits, at most one "::", an optional dotted IPv4
// tail; no zone id (fe80::1%eth0), which an HTTP library cannot route anyway.
bool isIpv6Literal(const std::string& host) {
  if (host.empty() || host.find("::") != host.rfind("::")) return false;
  const bool lone = (host[0] == ':' && host.compare(0, 2, "::") != 0) ||
                    (host.back() == ':' && (host.size() < 2 || host[host.size() - 2] != ':'));
  if (lone) return false;  // a single ':' at either end
  const bool compressed = host.find("::") != std::string::npos;
  int groups = 0;
  size_t i = 0;
  while (i < host.size()) {
    if (host[i] == ':') {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < host.size() && host[end] != ':') ++end;
    const std::string group = host.substr(i, end - i);
    if (end == host.size() && group.find('.') != std::string::npos) {
      groups += 2;  // an IPv4 tail, checked loosely: digits and dots
      for (char c : group) {
        if (!isDigit(c) && c != '.') return false;
      }
    } else {
      if (group.size() > 4) return false;
      for (char c : group) {
        if (!isHex(c)) return false;
      }
      ++groups;
    }
    i = end;
  }
  if (host.find(":::") != std::string::npos) return false;
  return compressed ? groups < 8 : groups == 8;
}

bool parsePort(const std::string& text, uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned long value = 0;
  for (char c : text) {
    if (!isDigit(c)) return false;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

bool fail(std::string& why, const char* reason) {
  why = reason;
  return false;
}

// host[:port] or [v6]:port, after the user info was refused.
bool parseAuthority(const std::string& authority, Url& url, std::string& why) {
  std::string portText;
  bool hasPort = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return fail(why, "an IPv6 address needs its closing ]");
    url.host = lowered(authority.substr(1, close - 1));
    url.ipv6Literal = true;
    if (!isIpv6Literal(url.host)) return fail(why, "not a valid IPv6 address");
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return fail(why, "unexpected characters after the IPv6 address");
    hasPort = !rest.empty();
    if (hasPort) portText = rest.substr(1);
  } else {
    const size_t colon = authority.find(':');
    url.host = lowered(authority.substr(0, colon));
    if (!isHostName(url.host)) return fail(why, "the host name may hold only letters, digits, '-' and '.'");
    hasPort = colon != std::string::npos;
    if (hasPort) portText = authority.substr(colon + 1);
  }
  if (hasPort && !parsePort(portText, url.port)) return fail(why, "the port must be a number from 1 to 65535");
  return true;
}

// Dotted-quad IPv4 address, each part 0–255 without leading zeros (some
// resolvers read 010 as octal); false for anything else, which is a name.
bool parseIpv4(const std::string& host, int octets[4]) {
  const char* p = host.c_str();
  for (int i = 0; i < 4; ++i) {
    if (!isDigit(*p)) return false;
    char* end = nullptr;
    const long value = strtol(p, &end, 10);
    if (value > 255 || end - p > 3 || (end - p > 1 && *p == '0')) return false;
    octets[i] = static_cast<int>(value);
    p = end;
    if (i < 3 && *p++ != '.') return false;
  }
  return *p == '\0';
}

bool isDevelopmentIpv6(const std::string& host) {
  if (host == "::1") return true;
  // fc00::/7 unique local, fe80::/10 link-local: the first group decides.
  const std::string first = host.substr(0, host.find(':'));
  if (first.size() != 4) return false;
  return first[0] == 'f' && (first[1] == 'c' || first[1] == 'd' || (first[1] == 'e' && strchr("89ab", first[2])));
}

// `plain` and `secure` are the two schemes accepted (http/https, mqtt/mqtts),
// each with its default port.
struct Schemes {
  const char* plain;
  uint16_t plainPort;
  const char* secure;
  uint16_t securePort;
  const char* hint;
};

bool parseWith(const Schemes& schemes, const std::string& text, Url& url, std::string& why) {
  url = Url();
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return fail(why, "blanks and control characters are not allowed");
    if (c == '\\') return fail(why, "backslashes are not allowed");
  }
  const size_t separator = text.find("://");
  if (separator == std::string::npos) return fail(why, schemes.hint);
  url.scheme = lowered(text.substr(0, separator));
  const bool secure = url.scheme == schemes.secure;
  if (!secure && url.scheme != schemes.plain) return fail(why, schemes.hint);
  const size_t hostStart = separator + 3;
  const size_t pathStart = text.find('/', hostStart);
  const std::string authority = text.substr(hostStart, pathStart == std::string::npos ? std::string::npos : pathStart - hostStart);
  if (authority.find('@') != std::string::npos) return fail(why, "user info (name:password@) is not allowed in the url");
  if (text.find_first_of("?#") != std::string::npos) return fail(why, "a base url has no query (?) or fragment (#)");
  if (authority.empty()) return fail(why, "the url has no host");
  if (!parseAuthority(authority, url, why)) return false;
  if (url.port == 0) url.port = secure ? schemes.securePort : schemes.plainPort;
  url.path = pathStart == std::string::npos ? "" : text.substr(pathStart);
  return true;
}

}  // namespace

bool parseUrl(const std::string& text, Url& url, std::string& why) {
  static const Schemes kHttp = {"http", 80, "https", 443, "the url must start with https:// (or http://)"};
  return parseWith(kHttp, text, url, why);
}

bool parseBrokerUrl(const std::string& text, Url& url, std::string& why) {
  static const Schemes kMqtt = {"mqtt", 1883, "mqtts", 8883, "a broker url starts with mqtts:// (or mqtt://)"};
  if (!parseWith(kMqtt, text, url, why)) return false;
  if (!url.path.empty() && url.path != "/") return fail(why, "a broker url has no path");
  return true;
}

bool isDevelopmentHost(const Url& url) {
  const std::string& host = url.host;
  if (url.ipv6Literal) return isDevelopmentIpv6(host);
  if (host == "localhost" || endsWith(host, ".local") || endsWith(host, ".localhost")) return true;
  int ip[4];
  if (!parseIpv4(host, ip)) return false;
  return ip[0] == 127 || ip[0] == 10 || (ip[0] == 192 && ip[1] == 168) || (ip[0] == 172 && ip[1] >= 16 && ip[1] <= 31) ||
         (ip[0] == 169 && ip[1] == 254);
}

}  // namespace thingsnxt
