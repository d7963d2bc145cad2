// Readings taken while the server could not be reached, oldest first, kept
// until the batch endpoint accepts them. Bounded: when full, the oldest
// reading makes room for the newest and is counted as lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "Reading.h"

namespace thingsnxt {

class OfflineBuffer {
 public:
  explicit OfflineBuffer(size_t capacity);

  // Returns false when the buffer was full and the oldest reading was dropped.
  bool push(const Reading& reading);
  // Index 0 is the oldest reading.
  Reading& at(size_t index);
  const Reading& at(size_t index) const;
  void dropOldest(size_t count);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return slots_.size(); }
  uint32_t overflowDropped() const { return overflowDropped_; }

 private:
  std::vector<Reading> slots_;
  size_t oldest_ = 0;
  size_t count_ = 0;
  uint32_t overflowDropped_ = 0;
};

}  // namespace thingsnxt
