#include "FileFirmwareSlot.h"

#include <cerrno>
#include <cstring>

namespace thingsnxt {

bool FileFirmwareSlot::begin(uint32_t size) {
  abort();
  if (size > capacity_) {
    error_ = "larger than the slot";
    return false;
  }
  file_ = fopen((path_ + ".part").c_str(), "wb");
  if (file_ == nullptr) error_ = strerror(errno);
  return file_ != nullptr;
}

bool FileFirmwareSlot::write(const uint8_t* data, size_t size) {
  if (file_ == nullptr || fwrite(data, 1, size, file_) != size) {
    error_ = file_ == nullptr ? "not begun" : strerror(errno);
    return false;
  }
  return true;
}

bool FileFirmwareSlot::finish() {
  if (file_ == nullptr) {
    error_ = "not begun";
    return false;
  }
  const bool closed = fclose(file_) == 0;
  file_ = nullptr;
  if (!closed || rename((path_ + ".part").c_str(), path_.c_str()) != 0) {
    error_ = strerror(errno);
    return false;
  }
  return true;
}

void FileFirmwareSlot::abort() {
  if (file_ == nullptr) return;
  fclose(file_);
  file_ = nullptr;
  remove((path_ + ".part").c_str());
}

void FileFirmwareSlot::markValid() { note("valid"); }

void FileFirmwareSlot::rollBack() { note("rolled back"); }

void FileFirmwareSlot::note(const char* what) {
  FILE* marker = fopen((path_ + ".state").c_str(), "w");
  if (marker == nullptr) return;
  fputs(what, marker);
  fclose(marker);
}

}  // namespace thingsnxt
