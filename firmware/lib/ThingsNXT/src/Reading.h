// One telemetry reading: a few key/value pairs and when they were taken.
// Fixed size, so the offline buffer is one allocation made at boot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "Storage.h"

namespace thingsnxt {

// Enough for the LED pins plus a few sensors; raise with care, every slot of
// the offline buffer grows with it (see the memory budget in the README).
constexpr size_t kMaxReadingFields = 6;
// The server allows 64; the firmware's own keys are short.
constexpr size_t kMaxFieldKeyLength = 15;

struct Field {
  enum class Kind : uint8_t { Int, Number, Bool };
  char key[kMaxFieldKeyLength + 1];
  Kind kind;
  union {
    int32_t integer;
    double number;
    bool boolean;
  };
};

class Reading {
 public:
  // Adds or replaces a field. False when the key is not a valid telemetry key,
  // is longer than kMaxFieldKeyLength, or the reading is full.
  bool add(const char* key, int32_t value);
  bool add(const char* key, double value);
  bool add(const char* key, bool value);

  size_t size() const { return count_; }
  const Field& field(size_t index) const { return fields_[index]; }

  // "v0=1 temperature=21.5", for logs.
  std::string describe() const;

  // The fields as bytes for the flash ring (OfflineBuffer.cpp), and back;
  // decode() is false when the bytes do not hold valid fields.
  void encodeFields(ByteWriter& out) const;
  bool decodeFields(ByteReader& in);

  uint64_t takenAtMonotonicMs = 0;  // meaningless for a reading restored from flash after a reboot
  uint64_t takenAtEpochMs = 0;      // 0 while the wall clock was unknown
  // The reading's identity for the server's deduplication (API guide,
  // "seq and boot"): kept unchanged through buffering, retries and reboots.
  uint64_t seq = 0;
  uint32_t boot = 0;

 private:
  Field* slotFor(const char* key);

  Field fields_[kMaxReadingFields] = {};
  uint8_t count_ = 0;
};

}  // namespace thingsnxt
