// Declarations of the mbedTLS 3 SHA-256 the sketch uses: one-shot (key pinning) and streaming (OTA); see firmware/README.md.
#pragma once

#include <cstddef>

int mbedtls_sha256(const unsigned char* input, size_t ilen, unsigned char* output, int is224);

// The streaming form, for hashing a firmware image as it is written (Esp32Ota.h).
typedef struct mbedtls_sha256_context {
  unsigned char opaque[112];
} mbedtls_sha256_context;

void mbedtls_sha256_init(mbedtls_sha256_context* ctx);
void mbedtls_sha256_free(mbedtls_sha256_context* ctx);
int mbedtls_sha256_starts(mbedtls_sha256_context* ctx, int is224);
int mbedtls_sha256_update(mbedtls_sha256_context* ctx, const unsigned char* input, size_t ilen);
int mbedtls_sha256_finish(mbedtls_sha256_context* ctx, unsigned char* output);
