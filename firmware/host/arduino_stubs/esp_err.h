// Declarations of the ESP-IDF error type the sketch uses (see firmware/README.md).
#pragma once

typedef int esp_err_t;
#define ESP_OK 0
#define ESP_ERR_INVALID_STATE 0x103
