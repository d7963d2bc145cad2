#include "Storage.h"

#include <cstring>

namespace thingsnxt {

uint32_t crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void ByteWriter::put(uint64_t value, size_t size) {
  if (size_ + size > capacity_) {
    ok_ = false;
    return;
  }
  for (size_t i = 0; i < size; ++i) buffer_[size_++] = static_cast<uint8_t>(value >> (8 * i));
}

void ByteWriter::bytes(const void* data, size_t size) {
  if (size_ + size > capacity_) {
    ok_ = false;
    return;
  }
  memcpy(buffer_ + size_, data, size);
  size_ += size;
}

size_t ByteWriter::sealed() {
  u32(crc32(buffer_, size_));
  return ok_ ? size_ : 0;
}

bool ByteReader::unseal() {
  if (size_ < 4) return ok_ = false;
  const size_t body = size_ - 4;
  uint32_t stored = 0;
  for (size_t i = 0; i < 4; ++i) stored |= static_cast<uint32_t>(data_[body + i]) << (8 * i);
  size_ = body;
  return ok_ = stored == crc32(data_, body);
}

uint64_t ByteReader::get(size_t size) {
  if (position_ + size > size_) {
    ok_ = false;
    return 0;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value |= static_cast<uint64_t>(data_[position_++]) << (8 * i);
  return value;
}

void ByteReader::bytes(void* out, size_t size) {
  if (position_ + size > size_) {
    ok_ = false;
    memset(out, 0, size);
    return;
  }
  memcpy(out, data_ + position_, size);
  position_ += size;
}

}  // namespace thingsnxt
