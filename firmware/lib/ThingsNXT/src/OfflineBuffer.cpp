#include "OfflineBuffer.h"

namespace thingsnxt {

OfflineBuffer::OfflineBuffer(size_t capacity) : slots_(capacity > 0 ? capacity : 1) {}

bool OfflineBuffer::push(const Reading& reading) {
  bool kept = true;
  if (count_ == slots_.size()) {
    dropOldest(1);
    ++overflowDropped_;
    kept = false;
  }
  slots_[(oldest_ + count_) % slots_.size()] = reading;
  ++count_;
  return kept;
}

Reading& OfflineBuffer::at(size_t index) { return slots_[(oldest_ + index) % slots_.size()]; }

const Reading& OfflineBuffer::at(size_t index) const { return slots_[(oldest_ + index) % slots_.size()]; }

void OfflineBuffer::dropOldest(size_t count) {
  if (count > count_) count = count_;
  oldest_ = (oldest_ + count) % slots_.size();
  count_ -= count;
}

}  // namespace thingsnxt
