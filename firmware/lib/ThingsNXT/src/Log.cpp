#include "Log.h"

#include <cstdio>

namespace thingsnxt {

namespace {
// Long enough for any event line; longer ones (trace bodies) are cut.
constexpr size_t kLineLength = 320;
}  // namespace

void Log::write(uint8_t level, const char* tag, const char* format, va_list args) {
  if (level > level_) return;
  char line[kLineLength];
  int prefix = snprintf(line, sizeof line, "%s: ", tag);
  vsnprintf(line + prefix, sizeof line - static_cast<size_t>(prefix), format, args);
  sink_.writeLine(line);
}

#define THINGSNXT_LOG_METHOD(name, level, tag) \
  void Log::name(const char* format, ...) {    \
    va_list args;                              \
    va_start(args, format);                    \
    write(level, tag, format, args);           \
    va_end(args);                              \
  }

THINGSNXT_LOG_METHOD(error, 0, "E")
THINGSNXT_LOG_METHOD(warn, 0, "W")
THINGSNXT_LOG_METHOD(info, 1, "I")
THINGSNXT_LOG_METHOD(debug, 2, "D")
THINGSNXT_LOG_METHOD(trace, 3, "T")

#undef THINGSNXT_LOG_METHOD

}  // namespace thingsnxt
