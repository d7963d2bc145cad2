// Readings taken while the server could not be reached, oldest first, kept
// until the batch endpoint accepts them. Bounded: when full, the oldest
// reading makes room for the newest and is counted as lost.
//
// With a RecordStore the buffer is also a ring of records in flash, so a
// power cut or a watchdog reset loses nothing buffered: record "r<i>" holds
// the reading at ring position p with p % capacity == i, and record "ring"
// the position of the oldest reading not yet acknowledged. Wear: a reading
// is written once, when it is buffered (only while offline: readings the
// server takes live never touch flash); an upload of a whole batch chunk
// costs one write of "ring"; nothing is erased. A power cut between two
// writes leaves either the reading unbuffered (its push had not returned)
// or an acknowledged chunk still in the ring, which is uploaded again after
// the reboot with the same seq and boot and recognised by the server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "Reading.h"
#include "Storage.h"

namespace thingsnxt {

class OfflineBuffer {
 public:
  explicit OfflineBuffer(size_t capacity, RecordStore* store = nullptr);

  // Loads the ring the last boot left in flash. Readings from then that never
  // got a wall-clock time are dropped: their monotonic time meant something
  // only in their own boot (counted in undatableDropped()).
  size_t restore();
  // Returns false when the buffer was full and the oldest reading was dropped.
  bool push(const Reading& reading);
  // Index 0 is the oldest reading.
  Reading& at(size_t index) { return entry(index).reading; }
  const Reading& at(size_t index) const { return entries_[(oldest_ + index) % entries_.size()].reading; }
  // Writes reading `index` to flash again, after its time was filled in.
  void rewrite(size_t index);
  void dropOldest(size_t count);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return entries_.size(); }
  uint32_t overflowDropped() const { return overflowDropped_; }
  uint32_t undatableDropped() const { return undatableDropped_; }
  uint32_t flashWriteFailures() const { return flashWriteFailures_; }
  bool persistent() const { return store_ != nullptr; }

 private:
  struct Entry {
    Reading reading;
    uint64_t position = 0;
  };

  Entry& entry(size_t index) { return entries_[(oldest_ + index) % entries_.size()]; }
  void append(const Reading& reading, uint64_t position);
  void writeRecord(const Entry& entry);
  void writeOldestPosition();
  bool readRecord(size_t slot, Entry& entry);

  std::vector<Entry> entries_;
  RecordStore* store_;
  size_t oldest_ = 0;
  size_t count_ = 0;
  uint64_t nextPosition_ = 0;
  uint32_t overflowDropped_ = 0;
  uint32_t undatableDropped_ = 0;
  uint32_t flashWriteFailures_ = 0;
};

}  // namespace thingsnxt
