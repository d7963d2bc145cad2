#include "OpenSslSha256.h"

namespace thingsnxt {

OpenSslSha256::OpenSslSha256() : context_(EVP_MD_CTX_new()) {}

OpenSslSha256::~OpenSslSha256() { EVP_MD_CTX_free(context_); }

void OpenSslSha256::begin() { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }

void OpenSslSha256::update(const uint8_t* data, size_t size) { EVP_DigestUpdate(context_, data, size); }

std::string OpenSslSha256::hexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_, digest, &size);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace thingsnxt
