// The real certificate parser of the host build (OpenSSL) refuses what is
// not a certificate, so `set ca` can no longer save garbage (issue 17,
// item 5), and computes the public-key digest `set pin` takes. Built only
// for the 64-bit host (firmware.mk: no 32-bit libssl here).
#include <doctest/doctest.h>

#include "../../esp32_production_ready/root_ca.h"
#include "OpenSslCertificates.h"
#include "fakes.h"

using namespace fakes;

TEST_CASE("OpenSSL accepts the built-in root CA and refuses garbage between BEGIN and END") {
  OpenSslCertificateParser parser;
  std::string why;
  CHECK(parser.parsePem(kRootCaPem, why));
  CHECK_FALSE(parser.parsePem("-----BEGIN CERTIFICATE-----\nhello world\n-----END CERTIFICATE-----\n", why));
  CHECK_FALSE(why.empty());
  CHECK_FALSE(parser.parsePem("-----BEGIN CERTIFICATE-----\nMIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAw\n-----END CERTIFICATE-----\n", why));
  CHECK_FALSE(parser.parsePem("", why));
  CHECK(why == "no certificate found");
  std::string truncated = kRootCaPem;
  truncated.erase(truncated.find("B5iPNgiV"), 64);  // a line lost on the serial line
  CHECK_FALSE(parser.parsePem(truncated, why));
}

TEST_CASE("the console saves a pasted CA only when the parser accepts it") {
  Rig rig;
  rig.start(DeviceConfig());
  DeviceConfig config;
  MemoryStore store;
  RecordingSink out;
  OpenSslCertificateParser parser;
  Console console(config, store, *rig.client, rig.log, out, parser);
  console.handleLine("set ca");
  console.handleLine("-----BEGIN CERTIFICATE-----");
  console.handleLine("bm90IGEgY2VydGlmaWNhdGUgYXQgYWxs");
  CHECK(console.handleLine("-----END CERTIFICATE-----") == ConsoleEffect::None);
  CHECK(store.saves == 0);
  CHECK(out.contains("error: not a usable certificate"));

  console.handleLine("set ca");
  std::string pem = kRootCaPem;
  ConsoleEffect effect = ConsoleEffect::None;
  for (size_t start = 0; start < pem.size();) {
    const size_t end = pem.find('\n', start);
    effect = console.handleLine(pem.substr(start, end - start));
    start = end == std::string::npos ? pem.size() : end + 1;
  }
  CHECK(effect == ConsoleEffect::ApiConfigChanged);
  CHECK(store.saved.rootCaPem.find("MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAw") != std::string::npos);
}

TEST_CASE("the SPKI digest of ISRG Root X1 is its well-known pin") {
  uint8_t digest[kSha256Bytes];
  REQUIRE(publicKeySha256(kRootCaPem, digest));
  // `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256`
  CHECK(keyPinAccepts("0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3", digest));
  CHECK_FALSE(publicKeySha256("garbage", digest));
}
