#include "FileRecordStore.h"

#include <cstdio>
#include <cstring>
#include <fstream>

namespace thingsnxt {

// The file: per record, the key's length (1 byte), the key, the data's
// length (4 bytes, little-endian) and the data.
FileRecordStore::FileRecordStore(std::string path) : path_(std::move(path)) {
  std::ifstream file(path_, std::ios::binary);
  while (file) {
    const int keyLength = file.get();
    if (keyLength == EOF) break;
    std::string key(static_cast<size_t>(keyLength), '\0');
    uint8_t sizeBytes[4] = {};
    file.read(&key[0], keyLength);
    file.read(reinterpret_cast<char*>(sizeBytes), 4);
    const size_t size = sizeBytes[0] | sizeBytes[1] << 8 | sizeBytes[2] << 16 | static_cast<size_t>(sizeBytes[3]) << 24;
    std::vector<uint8_t> data(size);
    if (!file.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size))) break;
    records_[key] = std::move(data);
  }
}

size_t FileRecordStore::read(const char* key, uint8_t* buffer, size_t capacity) {
  const auto found = records_.find(key);
  if (found == records_.end() || found->second.size() > capacity) return 0;
  memcpy(buffer, found->second.data(), found->second.size());
  return found->second.size();
}

bool FileRecordStore::write(const char* key, const uint8_t* data, size_t size) {
  const auto previous = records_;
  records_[key].assign(data, data + size);
  if (save()) return true;
  records_ = previous;  // as flash would: the old record stays
  return false;
}

bool FileRecordStore::save() const {
  const std::string temporary = path_ + ".new";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    for (const auto& record : records_) {
      const uint32_t length = static_cast<uint32_t>(record.second.size());
      const uint8_t sizeBytes[4] = {static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
                                    static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 24)};
      file.put(static_cast<char>(record.first.size()));
      file.write(record.first.data(), static_cast<std::streamsize>(record.first.size()));
      file.write(reinterpret_cast<const char*>(sizeBytes), 4);
      file.write(reinterpret_cast<const char*>(record.second.data()), length);
    }
    file.flush();
    if (!file) return false;
  }
  return std::rename(temporary.c_str(), path_.c_str()) == 0;
}

}  // namespace thingsnxt
