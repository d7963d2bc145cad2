#include "OfflineBuffer.h"

#include <algorithm>
#include <cstdio>

namespace thingsnxt {

namespace {

const char kRingKey[] = "ring";
constexpr uint8_t kFormat = 1;
// format, position, seq, boot, epoch ms, fields (count + 6 × (length, key, kind, value)), CRC
constexpr size_t kMaxRecordSize = 1 + 8 + 8 + 4 + 8 + 1 + kMaxReadingFields * (1 + kMaxFieldKeyLength + 1 + 8) + 4;

struct SlotKey {
  char text[12];
  explicit SlotKey(size_t slot) { snprintf(text, sizeof text, "r%u", static_cast<unsigned>(slot)); }
};

}  // namespace

OfflineBuffer::OfflineBuffer(size_t capacity, RecordStore* store)
    : entries_(capacity > 0 ? capacity : 1), store_(store) {}

bool OfflineBuffer::push(const Reading& reading) {
  const uint64_t position = nextPosition_++;
  bool kept = true;
  // The ring in flash holds positions [p - capacity + 1, p]: the slot this
  // reading goes to holds position p - capacity, which must be gone first.
  while (count_ > 0 && position - entry(0).position >= capacity()) {
    oldest_ = (oldest_ + 1) % capacity();
    --count_;
    ++overflowDropped_;
    kept = false;
  }
  append(reading, position);
  writeRecord(entry(count_ - 1));
  return kept;
}

void OfflineBuffer::append(const Reading& reading, uint64_t position) {
  Entry& slot = entries_[(oldest_ + count_) % capacity()];
  slot.reading = reading;
  slot.position = position;
  ++count_;
}

void OfflineBuffer::rewrite(size_t index) { writeRecord(entry(index)); }

void OfflineBuffer::dropOldest(size_t count) {
  if (count > count_) count = count_;
  oldest_ = (oldest_ + count) % capacity();
  count_ -= count;
  writeOldestPosition();
}

void OfflineBuffer::writeRecord(const Entry& entry) {
  if (store_ == nullptr) return;
  uint8_t record[kMaxRecordSize];
  ByteWriter out(record, sizeof record);
  out.u8(kFormat);
  out.u64(entry.position);
  out.u64(entry.reading.seq);
  out.u32(entry.reading.boot);
  out.u64(entry.reading.takenAtEpochMs);
  entry.reading.encodeFields(out);
  const size_t size = out.sealed();
  if (size == 0 || !store_->write(SlotKey(entry.position % capacity()).text, record, size)) ++flashWriteFailures_;
}

void OfflineBuffer::writeOldestPosition() {
  if (store_ == nullptr) return;
  uint8_t record[1 + 8 + 4];
  ByteWriter out(record, sizeof record);
  out.u8(kFormat);
  out.u64(count_ > 0 ? entry(0).position : nextPosition_);
  if (!store_->write(kRingKey, record, out.sealed())) ++flashWriteFailures_;
}

bool OfflineBuffer::readRecord(size_t slot, Entry& entry) {
  uint8_t record[kMaxRecordSize];
  ByteReader in(record, store_->read(SlotKey(slot).text, record, sizeof record));
  if (!in.unseal() || in.u8() != kFormat) return false;
  entry.position = in.u64();
  const uint64_t seq = in.u64();
  const uint32_t boot = in.u32();
  const uint64_t epochMs = in.u64();
  if (!in.ok() || !entry.reading.decodeFields(in) || !in.atEnd()) return false;
  entry.reading.seq = seq;
  entry.reading.boot = boot;
  entry.reading.takenAtEpochMs = epochMs;
  return entry.position % capacity() == slot;
}

size_t OfflineBuffer::restore() {
  oldest_ = count_ = 0;
  nextPosition_ = 0;
  if (store_ == nullptr) return 0;
  uint8_t ring[1 + 8 + 4];
  ByteReader header(ring, store_->read(kRingKey, ring, sizeof ring));
  uint64_t acknowledged = 0;
  if (header.unseal() && header.u8() == kFormat) acknowledged = header.u64();
  if (!header.ok()) acknowledged = 0;

  std::vector<Entry> found;  // once per boot; freed on return
  uint64_t newest = 0;
  bool any = false;
  Entry candidate;
  for (size_t slot = 0; slot < capacity(); ++slot) {
    if (!readRecord(slot, candidate)) continue;
    newest = any ? std::max(newest, candidate.position) : candidate.position;
    any = true;
    if (candidate.position >= acknowledged) found.push_back(candidate);
  }
  // Positions are never reused: a reading written after this boot must not
  // land on a slot the server might still think of as acknowledged.
  nextPosition_ = any ? std::max(newest + 1, acknowledged) : acknowledged;
  std::sort(found.begin(), found.end(), [](const Entry& a, const Entry& b) { return a.position < b.position; });
  for (const Entry& restored : found) {
    // A slot whose write failed still holds an older position: outside the
    // window of the newest `capacity` positions, it is stale.
    if (nextPosition_ - restored.position > capacity()) continue;
    if (restored.reading.takenAtEpochMs == 0) {
      ++undatableDropped_;
      continue;
    }
    append(restored.reading, restored.position);
  }
  return count_;
}

}  // namespace thingsnxt
