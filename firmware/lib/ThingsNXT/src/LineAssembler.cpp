#include "LineAssembler.h"

namespace thingsnxt {

bool LineAssembler::feed(char c) {
  const bool afterCarriageReturn = lastWasCarriageReturn_;
  lastWasCarriageReturn_ = c == '\r';
  if (c == '\n' && afterCarriageReturn) return false;  // the \n of a \r\n
  if (c == '\r' || c == '\n') {
    line_.swap(pending_);
    pending_.clear();
    return true;
  }
  if (c == '\b' || c == 0x7f) {
    if (!pending_.empty()) pending_.pop_back();
  } else if (pending_.size() < kMaxLength) {
    pending_ += c;
  }
  return false;
}

}  // namespace thingsnxt
