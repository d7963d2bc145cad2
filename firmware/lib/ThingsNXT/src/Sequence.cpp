#include "Sequence.h"

namespace thingsnxt {

namespace {
const char kKey[] = "seq";
constexpr uint8_t kFormat = 1;
constexpr size_t kRecordSize = 1 + 8 + 4;
}  // namespace

void SequenceCounter::begin() {
  next_ = 0;
  reservedEnd_ = 0;
  if (store_ == nullptr) return;
  uint8_t record[kRecordSize];
  ByteReader reader(record, store_->read(kKey, record, sizeof record));
  if (reader.unseal() && reader.u8() == kFormat) {
    const uint64_t end = reader.u64();
    if (reader.ok()) next_ = reservedEnd_ = end;
  }
}

uint64_t SequenceCounter::next() {
  if (next_ >= reservedEnd_) reserve(next_ + blockSize_);
  return next_++;
}

bool SequenceCounter::reserve(uint64_t end) {
  reservedEnd_ = end;  // issue on even if the write fails: see next()
  if (store_ == nullptr) return false;
  uint8_t record[kRecordSize];
  ByteWriter writer(record, sizeof record);
  writer.u8(kFormat);
  writer.u64(end);
  const size_t size = writer.sealed();
  ++reservationWrites_;
  if (store_->write(kKey, record, size)) return true;
  ++failedWrites_;
  return false;
}

}  // namespace thingsnxt
