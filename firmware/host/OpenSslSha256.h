// SHA-256 for the OTA updater on the host (OpenSSL's EVP); the ESP32 uses mbedTLS (Esp32Ota.h).
#pragma once

#include <openssl/evp.h>

#include "OtaUpdate.h"

namespace thingsnxt {

class OpenSslSha256 : public Sha256 {
 public:
  OpenSslSha256();
  ~OpenSslSha256() override;
  OpenSslSha256(const OpenSslSha256&) = delete;
  OpenSslSha256& operator=(const OpenSslSha256&) = delete;
  void begin() override;
  void update(const uint8_t* data, size_t size) override;
  std::string hexDigest() override;

 private:
  EVP_MD_CTX* context_;
};

}  // namespace thingsnxt
