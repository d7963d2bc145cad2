// Optional certificate pinning (`set pin`): besides chaining to the root CA,
// the server must present a public key whose SHA-256 (over the DER
// SubjectPublicKeyInfo, as HPKP and curl's --pinnedpubkey define it) is the
// configured one. The transports compute the digest (mbedTLS on the ESP32,
// firmware/esp32_production_ready/Esp32Http.h; curl on the host); the
// decision is here, in one place, and unit-tested.
#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

constexpr size_t kSha256Bytes = 32;

// 64 hex characters (either case; a ':'-separated form is accepted too, as
// `openssl x509 -fingerprint` prints it). False for anything else.
bool parseKeyPin(const std::string& text, uint8_t (&digest)[kSha256Bytes]);
// The canonical form stored in the configuration: 64 lowercase hex characters,
// or "" when `text` is not a pin.
std::string normalizeKeyPin(const std::string& text);
// True when `pin` is empty (pinning off) or equals `presented`. Compares
// every byte whatever the first difference, so timing tells nothing.
bool keyPinAccepts(const std::string& pin, const uint8_t (&presented)[kSha256Bytes]);
// "sha256//<base64>", curl's CURLOPT_PINNEDPUBLICKEY form; "" for no pin.
std::string curlPinnedKey(const std::string& pin);

// Checks that a PEM text is a certificate the TLS library can use, before it
// is saved (`set ca`): mbedtls_x509_crt_parse on the ESP32, OpenSSL on the host.
class CertificateParser {
 public:
  virtual ~CertificateParser() = default;
  // False, with the library's reason in `why`, unless `pem` holds at least
  // one certificate and nothing unparseable.
  virtual bool parsePem(const std::string& pem, std::string& why) = 0;
};

}  // namespace thingsnxt
