// Declarations of the ESP-IDF 5 task watchdog API the sketch uses (see firmware/README.md).
#pragma once

#include <cstdint>

#include "esp_err.h"

typedef void* TaskHandle_t;

typedef struct {
  uint32_t timeout_ms;
  uint32_t idle_core_mask;
  bool trigger_panic;
} esp_task_wdt_config_t;

esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_add(TaskHandle_t task_handle);
esp_err_t esp_task_wdt_reset(void);
