#include "OpenSslCertificates.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace thingsnxt {

namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

Bio openPem(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::string lastError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no certificate found";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

// Every certificate must parse, as mbedtls_x509_crt_parse requires on the
// device; anything after the last END line that is not blank is refused.
bool OpenSslCertificateParser::parsePem(const std::string& pem, std::string& why) {
  ERR_clear_error();
  Bio bio = openPem(pem);
  int certificates = 0;
  while (true) {
    Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) break;
    ++certificates;
  }
  const unsigned long error = ERR_peek_last_error();
  const bool cleanEnd = ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  if (certificates == 0 || !cleanEnd) {
    why = certificates == 0 && cleanEnd ? "no certificate found" : lastError();
    return false;
  }
  ERR_clear_error();
  return true;
}

bool publicKeySha256(const std::string& pem, uint8_t (&digest)[kSha256Bytes]) {
  Bio bio = openPem(pem);
  Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!certificate) return false;
  unsigned char* der = nullptr;
  const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate.get()), &der);
  if (length <= 0) return false;
  unsigned int size = 0;
  const bool ok = EVP_Digest(der, static_cast<size_t>(length), digest, &size, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  return ok && size == kSha256Bytes;
}

}  // namespace thingsnxt
