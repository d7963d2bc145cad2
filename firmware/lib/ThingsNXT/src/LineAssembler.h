#pragma once

#include <cstddef>
#include <string>

namespace thingsnxt {

// Collects serial characters into lines without blocking: feed() whatever has
// arrived and act when it says a line is complete. Accepts \n, \r and \r\n
// endings (terminals differ) and backspace; a runaway line is cut at
// kMaxLength rather than eating the heap.
class LineAssembler {
 public:
  static constexpr size_t kMaxLength = 256;

  bool feed(char c);
  const std::string& line() const { return line_; }

 private:
  std::string pending_;
  std::string line_;
  bool lastWasCarriageReturn_ = false;
};

}  // namespace thingsnxt
