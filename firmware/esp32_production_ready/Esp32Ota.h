// The ESP32 side of OTA updates (OtaUpdate.h): the image goes through the
// Update library into the next OTA partition (`Update.begin(size)`, `write`,
// `end(true)` makes it the boot partition), is hashed with mbedTLS as it is
// written, and after the reboot into it the bootloader's rollback is
// cancelled only once the new image has reached the server
// (`esp_ota_mark_app_valid_cancel_rollback`); an image that cannot is rolled
// back (`esp_ota_mark_app_invalid_rollback_and_reboot`). The bootloader
// itself rolls back an image that resets before either call when built with
// CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, as the arduino-esp32 3.x core is.
#pragma once

#include <Update.h>
#include <esp_ota_ops.h>
#include <mbedtls/sha256.h>

#include <string>

#include "OtaUpdate.h"

class MbedTlsSha256 : public thingsnxt::Sha256 {
 public:
  MbedTlsSha256() { mbedtls_sha256_init(&context_); }
  ~MbedTlsSha256() override { mbedtls_sha256_free(&context_); }
  MbedTlsSha256(const MbedTlsSha256&) = delete;
  MbedTlsSha256& operator=(const MbedTlsSha256&) = delete;

  void begin() override { mbedtls_sha256_starts(&context_, 0); }
  void update(const uint8_t* data, size_t size) override { mbedtls_sha256_update(&context_, data, size); }
  std::string hexDigest() override {
    unsigned char digest[32];
    mbedtls_sha256_finish(&context_, digest);
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : digest) {
      hex += kHex[byte >> 4];
      hex += kHex[byte & 0x0f];
    }
    return hex;
  }

 private:
  mbedtls_sha256_context context_;
};

class Esp32OtaSlot : public thingsnxt::FirmwareSlot {
 public:
  // Whether the bootloader waits for this image to be confirmed: the first boot after an update.
  bool pendingVerify() {
    esp_ota_img_states_t state;
    const esp_partition_t* running = esp_ota_get_running_partition();
    return running != nullptr && esp_ota_get_state_partition(running, &state) == ESP_OK && state == ESP_OTA_IMG_PENDING_VERIFY;
  }

  uint32_t capacity() override {
    const esp_partition_t* next = esp_ota_get_next_update_partition(nullptr);
    return next == nullptr ? 0 : next->size;
  }
  bool begin(uint32_t size) override { return Update.begin(size); }
  bool write(const uint8_t* data, size_t size) override {
    // Update.write takes a non-const buffer but only reads it.
    return Update.write(const_cast<uint8_t*>(data), size) == size;
  }
  bool finish() override { return Update.end(true); }
  void abort() override { Update.abort(); }
  std::string lastError() override { return Update.errorString(); }
  void markValid() override { esp_ota_mark_app_valid_cancel_rollback(); }
  void rollBack() override { esp_ota_mark_app_invalid_rollback_and_reboot(); }
};
