// The ESP-IDF version macros (see firmware/README.md). The stubs declare the
// IDF 5 APIs (arduino-esp32 3.x); Esp32Board.h also has an IDF 4 branch,
// which this type-check cannot see.
#pragma once

#define ESP_IDF_VERSION_MAJOR 5
#define ESP_IDF_VERSION_MINOR 1
