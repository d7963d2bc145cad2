#pragma once

#include <cstdint>
#include <string>

namespace thingsnxt {

// "2026-11-27T17:10:00.123Z": the server's timestamp format, used for the
// `ts` of buffered readings so that a retried batch upload is recognised.
std::string formatIsoUtc(uint64_t epochMs);

}  // namespace thingsnxt
