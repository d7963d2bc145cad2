// URL parsing (issue 17, item 4): the device and its HTTP library must agree
// on the host, so anything they could read differently is refused.
#include <doctest/doctest.h>

#include "ThingsNXT.h"

using namespace thingsnxt;

namespace {
Url parsed(const std::string& text) {
  Url url;
  std::string why;
  REQUIRE_MESSAGE(parseUrl(text, url, why), text << ": " << why);
  return url;
}
std::string refusal(const std::string& text) {
  Url url;
  std::string why;
  CHECK_MESSAGE(!parseUrl(text, url, why), text);
  return why;
}
}  // namespace

TEST_CASE("user info is refused, so it cannot smuggle a public host past the development check") {
  CHECK(refusal("http://localhost:80@evil.com/").find("user info") != std::string::npos);
  CHECK(refusal("https://user:pass@iot.example.com").find("user info") != std::string::npos);
  CHECK(refusal("http://192.168.1.2@evil.com").find("user info") != std::string::npos);
  CHECK(classifyBaseUrl("http://localhost:80@evil.com/") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("http://evil.com#@localhost") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("http://evil.com?@localhost") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("http://localhost\\@evil.com") == UrlSecurity::Invalid);
  CHECK(classifyBaseUrl("http://10.0.0.1.evil.com") == UrlSecurity::PublicHttp);
  CHECK(classifyBaseUrl("http://0177.0.0.1") == UrlSecurity::PublicHttp);  // octal to some resolvers: a name here
}

TEST_CASE("schemes, hosts, ports and paths") {
  Url url = parsed("HTTPS://IoT.Example.com:8443/api/v1/");
  CHECK(url.scheme == "https");
  CHECK(url.host == "iot.example.com");
  CHECK(url.port == 8443);
  CHECK(url.path == "/api/v1/");
  CHECK(parsed("http://localhost").port == 80);
  CHECK(parsed("https://iot.example.com").port == 443);
  CHECK(parsed("http://h:65535").port == 65535);
  refusal("http://h:0");
  refusal("http://h:65536");
  refusal("http://h:");
  refusal("http://h:80x");
  refusal("ftp://iot.example.com");
  refusal("iot.example.com");
  refusal("https://");
  refusal("https:///path");
  refusal("http://exa mple.com");
  refusal("http://example.com/\n");
  refusal("http://ex_ample.com");
  refusal("http://a..b");
}

TEST_CASE("IPv6 literal hosts") {
  Url url = parsed("http://[::1]:8000/");
  CHECK(url.ipv6Literal);
  CHECK(url.host == "::1");
  CHECK(url.port == 8000);
  CHECK(parsed("https://[2001:DB8::1]").host == "2001:db8::1");
  CHECK(parsed("http://[1:2:3:4:5:6:7:8]").port == 80);
  CHECK(parsed("http://[::ffff:192.168.1.1]").host == "::ffff:192.168.1.1");
  refusal("http://[::1");
  refusal("http://[::1]x");
  refusal("http://[1:2:3:4:5:6:7:8:9]");
  refusal("http://[1::2::3]");
  refusal("http://[fe80::1%25eth0]");
  refusal("http://[:1]");
  refusal("http://[12345::]");
  refusal("http://::1/");
  CHECK(classifyBaseUrl("http://[::1]:5000") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://[fd12:3456::1]") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://[fe80::1]") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://[2001:db8::1]") == UrlSecurity::PublicHttp);
  CHECK(classifyBaseUrl("https://[2001:db8::1]") == UrlSecurity::Https);
}

TEST_CASE("development hosts") {
  CHECK(classifyBaseUrl("http://169.254.10.1") == UrlSecurity::DevelopmentHttp);  // link-local
  CHECK(classifyBaseUrl("http://printer.LOCAL:631") == UrlSecurity::DevelopmentHttp);
  CHECK(classifyBaseUrl("http://010.0.0.1") == UrlSecurity::PublicHttp);
  CHECK(classifyBaseUrl("http://localhost.evil.com") == UrlSecurity::PublicHttp);
}
