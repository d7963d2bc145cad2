// Leveled logging into a line sink (Serial on the device, stdout on the host).
// Levels are the `debug 0-3` console setting:
//   0 errors and warnings, 1 + events (default), 2 + every request, 3 + bodies.
#pragma once

#include <cstdarg>
#include <cstdint>

#if defined(__GNUC__)
#define THINGSNXT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define THINGSNXT_PRINTF(fmt, args)
#endif

namespace thingsnxt {

class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual void writeLine(const char* line) = 0;
};

class Log {
 public:
  static constexpr uint8_t kMaxLevel = 3;

  explicit Log(TextSink& sink) : sink_(sink) {}

  void setLevel(uint8_t level) { level_ = level > kMaxLevel ? kMaxLevel : level; }
  uint8_t level() const { return level_; }

  void error(const char* format, ...) THINGSNXT_PRINTF(2, 3);
  void warn(const char* format, ...) THINGSNXT_PRINTF(2, 3);
  void info(const char* format, ...) THINGSNXT_PRINTF(2, 3);
  void debug(const char* format, ...) THINGSNXT_PRINTF(2, 3);
  void trace(const char* format, ...) THINGSNXT_PRINTF(2, 3);

 private:
  void write(uint8_t level, const char* tag, const char* format, va_list args);

  TextSink& sink_;
  uint8_t level_ = 1;
};

}  // namespace thingsnxt
