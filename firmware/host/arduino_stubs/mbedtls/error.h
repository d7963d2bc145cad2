// Declaration of the mbedTLS error text function the sketch uses (see firmware/README.md).
#pragma once

#include <cstddef>

void mbedtls_strerror(int errnum, char* buffer, size_t buflen);
