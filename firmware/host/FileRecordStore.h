// The core's RecordStore on the host: every record in one state file that
// stands in for the ESP32's flash, so a restarted host device keeps its seq
// counter and offline buffer (tests/firmware restart it). The device's twin
// is NvsRecordStore.h in the sketch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "Storage.h"

namespace thingsnxt {

class FileRecordStore : public RecordStore {
 public:
  // Loads `path` if it exists; an unreadable file counts as blank flash.
  explicit FileRecordStore(std::string path);

  size_t read(const char* key, uint8_t* buffer, size_t capacity) override;
  // Writes the whole file anew and renames it over the old one: a kill in
  // between leaves the old file, as a power cut leaves an NVS blob.
  bool write(const char* key, const uint8_t* data, size_t size) override;

 private:
  bool save() const;

  std::string path_;
  std::map<std::string, std::vector<uint8_t>> records_;
};

}  // namespace thingsnxt
