#pragma once

#include <ThingsNXT.h>
#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

// The core's CertificateParser on the ESP32: the same mbedTLS parser that
// WiFiClientSecure::setCACert feeds, so a CA that passes here loads there.
// The host's twin is firmware/host/OpenSslCertificates.h.
class MbedTlsCertificateParser : public thingsnxt::CertificateParser {
 public:
  bool parsePem(const std::string& pem, std::string& why) override {
    mbedtls_x509_crt chain;
    mbedtls_x509_crt_init(&chain);
    // PEM input is parsed up to and including its terminating NUL.
    const int result =
        mbedtls_x509_crt_parse(&chain, reinterpret_cast<const unsigned char*>(pem.c_str()), pem.size() + 1);
    mbedtls_x509_crt_free(&chain);
    if (result == 0) return true;
    if (result > 0) {
      why = std::to_string(result) + " certificate(s) could not be parsed";
    } else {
      char text[96];
      mbedtls_strerror(result, text, sizeof text);
      why = text;
    }
    return false;
  }
};
