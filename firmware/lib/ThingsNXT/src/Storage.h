// Small named records in flash, and the byte encoding the core stores in
// them. On the ESP32 a record is an NVS blob (Preferences putBytes/getBytes,
// firmware/esp32_production_ready/NvsRecordStore.h); on the host a state file
// (firmware/host/FileRecordStore.h); in the unit tests a fake flash that can
// lose power between any two writes (firmware/host/tests/fakes.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace thingsnxt {

class RecordStore {
 public:
  virtual ~RecordStore() = default;
  // The record's bytes (at most `capacity`); 0 when there is none.
  virtual size_t read(const char* key, uint8_t* buffer, size_t capacity) = 0;
  // Replaces the whole record. A power cut during a write leaves the old or
  // the new record, never a mix: NVS guarantees it for a blob, the host file
  // store by renaming, the fake by design. False when nothing was written.
  virtual bool write(const char* key, const uint8_t* data, size_t size) = 0;
};

// CRC-32 (IEEE 802.3), to tell a record of ours from a blank or foreign one.
uint32_t crc32(const uint8_t* data, size_t size);

// Little-endian fields into a fixed buffer; ok() turns false on overflow.
class ByteWriter {
 public:
  ByteWriter(uint8_t* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {}
  void u8(uint8_t value) { put(value, 1); }
  void u32(uint32_t value) { put(value, 4); }
  void u64(uint64_t value) { put(value, 8); }
  void bytes(const void* data, size_t size);
  // Appends the CRC of everything written so far; returns the total size.
  size_t sealed();
  bool ok() const { return ok_; }

 private:
  void put(uint64_t value, size_t size);
  uint8_t* buffer_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
};

// Reads what ByteWriter wrote; ok() turns false when a read runs past the end.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // Checks and strips the trailing CRC; false for a damaged or short record.
  bool unseal();
  uint8_t u8() { return static_cast<uint8_t>(get(1)); }
  uint32_t u32() { return static_cast<uint32_t>(get(4)); }
  uint64_t u64() { return get(8); }
  void bytes(void* out, size_t size);
  bool ok() const { return ok_; }
  bool atEnd() const { return position_ == size_; }

 private:
  uint64_t get(size_t size);
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace thingsnxt
