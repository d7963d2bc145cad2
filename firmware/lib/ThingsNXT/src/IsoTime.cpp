#include "IsoTime.h"

#include <cstdio>

namespace thingsnxt {

namespace {

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's civil_from_days: proleptic Gregorian date of a day count
// since 1970-01-01, without depending on the platform's gmtime.
CivilDate civilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned dayOfEra = static_cast<unsigned>(days - era * 146097);
  const unsigned yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  const unsigned dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  const unsigned shiftedMonth = (5 * dayOfYear + 2) / 153;
  const unsigned day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1;
  const unsigned month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const int64_t year = static_cast<int64_t>(yearOfEra) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

}  // namespace

std::string formatIsoUtc(uint64_t epochMs) {
  const uint64_t seconds = epochMs / 1000;
  const unsigned millis = static_cast<unsigned>(epochMs % 1000);
  const CivilDate date = civilFromDays(static_cast<int64_t>(seconds / 86400));
  const unsigned secondOfDay = static_cast<unsigned>(seconds % 86400);
  char text[48];  // room for any 64-bit year, which the compiler checks for
  snprintf(text, sizeof text, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", static_cast<long long>(date.year),
           date.month, date.day, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60, millis);
  return text;
}

}  // namespace thingsnxt
