// Declarations of the mbedTLS 3 public-key API the sketch uses (see firmware/README.md).
#pragma once

#include <cstddef>

typedef struct mbedtls_pk_context {
  const void* pk_info;
  void* pk_ctx;
} mbedtls_pk_context;

// Writes at the END of buf; returns the length written or a negative error.
int mbedtls_pk_write_pubkey_der(const mbedtls_pk_context* ctx, unsigned char* buf, size_t size);
