// Optional public-key pinning (issue 17, item 9): the decision logic, and
// the transports' setting. OpenSSL's SPKI digest is in test_certificates.cpp.
#include <doctest/doctest.h>

#include "fakes.h"

using namespace fakes;

TEST_CASE("a key pin is 64 hex characters, stored in lower case") {
  const std::string pin = "0B:9F:A5:A5:9E:ED:71:5C:26:C1:02:0C:71:1B:4F:6E:C4:2D:58:B0:01:5E:14:33:7A:39:DA:D3:01:C5:AF:C3";
  CHECK(normalizeKeyPin(pin) == "0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3");
  CHECK(normalizeKeyPin(std::string(63, 'a')).empty());
  CHECK(normalizeKeyPin(std::string(65, 'a')).empty());
  CHECK(normalizeKeyPin(std::string(63, 'a') + "g").empty());
  CHECK(curlPinnedKey(pin) == "sha256//C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=");
  CHECK(curlPinnedKey("").empty());
}

TEST_CASE("the pin accepts only the pinned key, and everything when off") {
  uint8_t presented[kSha256Bytes];
  for (size_t i = 0; i < kSha256Bytes; ++i) presented[i] = static_cast<uint8_t>(i);
  const std::string pin = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  CHECK(keyPinAccepts(pin, presented));
  CHECK(keyPinAccepts("", presented));
  presented[31] ^= 1;
  CHECK_FALSE(keyPinAccepts(pin, presented));
  presented[31] ^= 1;
  presented[0] ^= 0x80;
  CHECK_FALSE(keyPinAccepts(pin, presented));
  CHECK_FALSE(keyPinAccepts("not a pin", presented));  // a damaged setting fails closed
}

TEST_CASE("set pin reaches the transport for https, next to the CA check") {
  ClientSettings settings;
  settings.defaultRootCaPem = "BUILT-IN PEM";
  Rig rig(settings);
  DeviceConfig config = provisionedConfig();
  config.apiBaseUrl = "https://iot.example.com";
  config.serverKeyPin = "0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3";
  rig.start(config);
  CHECK(rig.server.pinnedKey == config.serverKeyPin);
  CHECK(rig.server.rootCa == "BUILT-IN PEM");
  config.serverKeyPin.clear();
  rig.client->configure(config);
  CHECK(rig.server.pinnedKey.empty());

  CHECK(parseCommand("set pin off").type == CommandType::SetPin);
  CHECK(parseCommand("set pin " + std::string(64, 'A')).value == std::string(64, 'a'));
  CHECK(parseCommand("set pin abc").type == CommandType::Invalid);
}
