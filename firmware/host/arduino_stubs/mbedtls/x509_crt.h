// Declarations of the mbedTLS 3 certificate API the sketch uses (see
// firmware/README.md); only the members the sketch reads are declared.
#pragma once

#include <cstddef>

#include "pk.h"

typedef struct mbedtls_x509_crt {
  mbedtls_pk_context pk;
  struct mbedtls_x509_crt* next;
} mbedtls_x509_crt;

void mbedtls_x509_crt_init(mbedtls_x509_crt* crt);
void mbedtls_x509_crt_free(mbedtls_x509_crt* crt);
// PEM input must include the terminating NUL in buflen. Returns 0, a negative
// error, or the number of certificates that failed to parse.
int mbedtls_x509_crt_parse(mbedtls_x509_crt* chain, const unsigned char* buf, size_t buflen);
