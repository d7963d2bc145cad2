// Parsing of the server's base URL into scheme, host, port and path, strictly
// enough that the device and its HTTP library agree on which host they talk
// to. The old check took everything after "://" up to the first ':' as the
// host, so http://localhost:80@evil.com/ passed as a development host while
// the HTTP library sent the token in clear text to evil.com (issue 17, item 4).
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

struct Url {
  std::string scheme;  // "http", "https", "mqtt" or "mqtts", lower case
  std::string host;    // lower case; an IPv6 literal without its brackets
  bool ipv6Literal = false;
  uint16_t port = 0;   // the explicit port, else the scheme's default
  std::string path;    // "" or "/…", kept as written
};

// False, with the reason in `why`, for anything that is not
// http(s)://host[:port][/path]: user info (user:pass@), a query or fragment,
// backslashes, blanks or control characters, an empty or malformed host, a
// port outside 1–65535.
bool parseUrl(const std::string& text, Url& url, std::string& why);
// The same rules for an MQTT broker: mqtt(s)://host[:port] (1883, 8883), no path.
bool parseBrokerUrl(const std::string& text, Url& url, std::string& why);

// Loopback, private-network and link-local addresses, localhost and
// multicast-DNS (.local) names: where plain HTTP is tolerated for development.
bool isDevelopmentHost(const Url& url);

}  // namespace thingsnxt
