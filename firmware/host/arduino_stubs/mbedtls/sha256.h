// Declaration of the mbedTLS 3 one-shot SHA-256 the sketch uses (see firmware/README.md).
#pragma once

#include <cstddef>

int mbedtls_sha256(const unsigned char* input, size_t ilen, unsigned char* output, int is224);
