#pragma once

#include <Preferences.h>
#include <ThingsNXT.h>

// The core's RecordStore in NVS (Preferences namespace "iot-ring"): the seq
// counter's reservation and the offline buffer's ring (OfflineBuffer.h).
// NVS writes a blob's new version before it erases the old one, so a power
// cut leaves one of the two, which is what the core relies on; it also
// spreads writes over its pages (wear levelling). The namespace is kept
// open: begin() per write would cost a lookup each time.
class NvsRecordStore : public thingsnxt::RecordStore {
 public:
  bool begin() { return open_ = prefs_.begin("iot-ring", /*readOnly=*/false); }

  size_t read(const char* key, uint8_t* buffer, size_t capacity) override {
    // isKey() first: getBytes() on a missing key logs an NVS error.
    if (!open_ || !prefs_.isKey(key) || prefs_.getBytesLength(key) > capacity) return 0;
    return prefs_.getBytes(key, buffer, capacity);
  }

  bool write(const char* key, const uint8_t* data, size_t size) override {
    return open_ && prefs_.putBytes(key, data, size) == size;
  }

 private:
  Preferences prefs_;
  bool open_ = false;
};
