// The offline buffer as a ring of records in flash (issue 17, item 6): a
// power cut between any two writes loses nothing that was buffered.
#include <doctest/doctest.h>

#include <functional>

#include "fakes.h"

using namespace fakes;

namespace {

Reading numbered(uint64_t seq) {
  Reading reading;
  reading.seq = seq;
  reading.boot = 0x12345678;
  reading.takenAtEpochMs = kEpochAtBoot + seq * 10000;
  reading.add("v0", static_cast<int32_t>(seq % 2));
  reading.add("temperature", 20.5 + static_cast<double>(seq));
  reading.add("door", seq % 3 == 0);
  return reading;
}

struct Snapshot {
  uint64_t seq;
  uint32_t boot;
  uint64_t epochMs;
  std::string fields;
  bool operator==(const Snapshot& other) const {
    return seq == other.seq && boot == other.boot && epochMs == other.epochMs && fields == other.fields;
  }
};

std::vector<Snapshot> contents(const OfflineBuffer& buffer) {
  std::vector<Snapshot> all;
  for (size_t i = 0; i < buffer.size(); ++i) {
    const Reading& r = buffer.at(i);
    all.push_back({r.seq, r.boot, r.takenAtEpochMs, r.describe()});
  }
  return all;
}

// Each step writes flash exactly once: a push, an acknowledged chunk, or a
// reading written again after its time was filled in.
using Step = std::function<void(OfflineBuffer&)>;

std::vector<Step> scenario() {
  std::vector<Step> steps;
  for (uint64_t seq = 0; seq < 6; ++seq) steps.push_back([seq](OfflineBuffer& b) { b.push(numbered(seq)); });  // overflows at 4
  steps.push_back([](OfflineBuffer& b) { b.dropOldest(2); });
  steps.push_back([](OfflineBuffer& b) { b.push(numbered(6)); });
  steps.push_back([](OfflineBuffer& b) {
    b.at(0).takenAtEpochMs += 1;
    b.rewrite(0);
  });
  steps.push_back([](OfflineBuffer& b) { b.push(numbered(7)); });
  steps.push_back([](OfflineBuffer& b) { b.dropOldest(3); });
  for (uint64_t seq = 8; seq < 13; ++seq) steps.push_back([seq](OfflineBuffer& b) { b.push(numbered(seq)); });
  steps.push_back([](OfflineBuffer& b) { b.dropOldest(4); });
  return steps;
}

}  // namespace

TEST_CASE("a restored ring holds what was buffered, in order, with seq, boot, time and fields") {
  FakeFlash flash;
  {
    OfflineBuffer buffer(5, &flash);
    buffer.restore();
    for (uint64_t seq = 0; seq < 3; ++seq) buffer.push(numbered(seq));
  }
  OfflineBuffer rebooted(5, &flash);
  CHECK(rebooted.restore() == 3);
  for (uint64_t i = 0; i < 3; ++i) {
    CHECK(rebooted.at(i).seq == i);
    CHECK(rebooted.at(i).boot == 0x12345678);
    CHECK(rebooted.at(i).describe() == numbered(i).describe());
  }
  CHECK(flash.writes == 3);  // one write per buffered reading
}

TEST_CASE("a power cut between any two flash writes loses nothing buffered") {
  const std::vector<Step> steps = scenario();
  for (size_t cut = 0; cut <= steps.size(); ++cut) {
    CAPTURE(cut);
    FakeFlash flash;
    OfflineBuffer model(4);  // RAM only: what the device believed after `cut` steps
    {
      OfflineBuffer buffer(4, &flash);
      buffer.restore();
      flash.writesBeforeCut = static_cast<long>(cut);
      for (size_t i = 0; i < steps.size(); ++i) {
        steps[i](buffer);
        if (i < cut) steps[i](model);
      }
      CHECK(flash.writes == cut);
    }
    flash.reboot();
    OfflineBuffer rebooted(4, &flash);
    rebooted.restore();
    CHECK(contents(rebooted) == contents(model));

    // Life goes on after the reboot: new readings never overwrite one still waiting.
    const std::vector<Snapshot> before = contents(rebooted);
    rebooted.push(numbered(100));
    OfflineBuffer again(4, &flash);
    again.restore();
    std::vector<Snapshot> expected = before;
    expected.push_back(contents(rebooted).back());
    if (expected.size() > 4) expected.erase(expected.begin());
    CHECK(contents(again) == expected);
  }
}

TEST_CASE("readings of the last boot that never got a time are dropped at restore and counted") {
  FakeFlash flash;
  {
    OfflineBuffer buffer(4, &flash);
    Reading undated = numbered(1);
    undated.takenAtEpochMs = 0;
    buffer.push(numbered(0));
    buffer.push(undated);
    buffer.push(numbered(2));
  }
  OfflineBuffer rebooted(4, &flash);
  CHECK(rebooted.restore() == 2);
  CHECK(rebooted.at(0).seq == 0);
  CHECK(rebooted.at(1).seq == 2);
  CHECK(rebooted.undatableDropped() == 1);
}

TEST_CASE("damaged, foreign or misplaced records are ignored") {
  FakeFlash flash;
  {
    OfflineBuffer buffer(4, &flash);
    for (uint64_t seq = 0; seq < 3; ++seq) buffer.push(numbered(seq));
  }
  flash.records["r1"][5] ^= 0xff;          // a flipped byte: the CRC no longer matches
  flash.records["r3"] = flash.records["r2"];  // a record in the wrong slot
  flash.records["ring"] = {1, 2, 3};        // a header too short to be ours
  OfflineBuffer rebooted(4, &flash);
  CHECK(rebooted.restore() == 2);
  CHECK(rebooted.at(0).seq == 0);
  CHECK(rebooted.at(1).seq == 2);
}

TEST_CASE("when flash fails the buffer keeps working in RAM and counts the failures") {
  FakeFlash flash;
  flash.failEveryWrite = true;
  OfflineBuffer buffer(4, &flash);
  buffer.push(numbered(0));
  buffer.push(numbered(1));
  buffer.dropOldest(1);
  CHECK(buffer.size() == 1);
  CHECK(buffer.flashWriteFailures() == 3);
}

TEST_CASE("the seq counter writes once per block and never goes back after a cut") {
  for (long cut = 0; cut < 4; ++cut) {
    CAPTURE(cut);
    FakeFlash flash;
    uint64_t highest = 0;
    {
      SequenceCounter counter(&flash, 5);
      counter.begin();
      flash.writesBeforeCut = cut;
      for (int i = 0; i < 17; ++i) highest = counter.next();
    }
    flash.reboot();
    SequenceCounter rebooted(&flash, 5);
    rebooted.begin();
    const uint64_t next = rebooted.next();
    // With every reservation written, the counter resumes past all it issued;
    // after a cut it may repeat numbers, under the new boot id (Sequence.h).
    if (cut == 0) CHECK(next == 0);
    if (cut >= 4) CHECK(next > highest);
    CHECK(next == static_cast<uint64_t>(cut) * 5);
  }
  FakeFlash flash;
  SequenceCounter counter(&flash, 100);
  counter.begin();
  for (int i = 0; i < 1000; ++i) counter.next();
  CHECK(flash.writes == 10);
  CHECK(counter.failedWrites() == 0);
}
