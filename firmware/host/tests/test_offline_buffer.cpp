#include <doctest/doctest.h>

#include "ThingsNXT.h"

using namespace thingsnxt;

namespace {
Reading numbered(int32_t n) {
  Reading reading;
  reading.add("seq", n);
  return reading;
}
int32_t seqAt(const OfflineBuffer& buffer, size_t index) { return buffer.at(index).field(0).integer; }
}  // namespace

TEST_CASE("the offline buffer keeps readings oldest first until it is full") {
  OfflineBuffer buffer(3);
  CHECK(buffer.empty());
  CHECK(buffer.push(numbered(1)));
  CHECK(buffer.push(numbered(2)));
  CHECK(buffer.push(numbered(3)));
  CHECK(buffer.size() == 3);
  CHECK(seqAt(buffer, 0) == 1);
  CHECK(seqAt(buffer, 2) == 3);
  CHECK(buffer.overflowDropped() == 0);
}

TEST_CASE("a full offline buffer drops the oldest reading and counts it") {
  OfflineBuffer buffer(3);
  for (int32_t n = 1; n <= 3; ++n) buffer.push(numbered(n));
  CHECK_FALSE(buffer.push(numbered(4)));
  CHECK_FALSE(buffer.push(numbered(5)));
  CHECK(buffer.size() == 3);
  CHECK(seqAt(buffer, 0) == 3);
  CHECK(seqAt(buffer, 2) == 5);
  CHECK(buffer.overflowDropped() == 2);
}

TEST_CASE("uploaded readings leave the buffer from the front, across the wrap-around") {
  OfflineBuffer buffer(4);
  for (int32_t n = 1; n <= 6; ++n) buffer.push(numbered(n));  // wraps
  buffer.dropOldest(3);
  CHECK(buffer.size() == 1);
  CHECK(seqAt(buffer, 0) == 6);
  buffer.push(numbered(7));
  CHECK(seqAt(buffer, 1) == 7);
  buffer.dropOldest(10);
  CHECK(buffer.empty());
}
