// The core's CertificateParser on the host, with OpenSSL (Debian's
// libssl-dev). The device's twin is MbedTlsCertificates.h in the sketch.
#pragma once

#include <string>

#include "KeyPin.h"

namespace thingsnxt {

class OpenSslCertificateParser : public CertificateParser {
 public:
  bool parsePem(const std::string& pem, std::string& why) override;
};

// SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in `pem`
// (what `set pin` takes); false when there is no certificate.
bool publicKeySha256(const std::string& pem, uint8_t (&digest)[kSha256Bytes]);

}  // namespace thingsnxt
