// The host's stand-in for an ESP32 OTA partition: the image is written to
// `<path>.part` and renamed to `path` once verified ("bootable"); keeping or
// rolling back a booted image is recorded, for the firmware-in-the-loop test
// to check (tests/firmware).
#pragma once

#include <cstdio>
#include <string>

#include "OtaUpdate.h"

namespace thingsnxt {

class FileFirmwareSlot : public FirmwareSlot {
 public:
  FileFirmwareSlot(std::string path, uint32_t capacity) : path_(std::move(path)), capacity_(capacity) {}
  ~FileFirmwareSlot() override { abort(); }
  FileFirmwareSlot(const FileFirmwareSlot&) = delete;
  FileFirmwareSlot& operator=(const FileFirmwareSlot&) = delete;

  uint32_t capacity() override { return capacity_; }
  bool begin(uint32_t size) override;
  bool write(const uint8_t* data, size_t size) override;
  bool finish() override;
  void abort() override;
  std::string lastError() override { return error_; }
  void markValid() override;
  void rollBack() override;

 private:
  void note(const char* what);

  std::string path_;
  uint32_t capacity_;
  FILE* file_ = nullptr;
  std::string error_;
};

}  // namespace thingsnxt
