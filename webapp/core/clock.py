"""Wall-clock time as the integer milliseconds every table stores, and its ISO-8601 form."""
import re
import time
from datetime import UTC, datetime


def now_ms():
    return time.time_ns() // 1_000_000


# The last second formatted: a device request formats "now" two or three times (3 µs each).
_last_second = (None, "")


def iso_ms(ms):
    """`2026-11-27T17:10:00.123Z`, the one timestamp format of the API; None stays None."""
    global _last_second
    if ms is None:
        return None
    second, text = _last_second
    if second != ms // 1000:
        second, text = _last_second = ms // 1000, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{text}.{ms % 1000:03d}Z"


# A Unix time from here on is taken as milliseconds: as seconds it would be the year 5138, as milliseconds it is 1973.
MILLISECONDS_FROM = 100_000_000_000
_UNIX_NUMBER = re.compile(r"^\d{9,}(\.\d+)?$")


def parse_timestamp_ms(value):
    """Milliseconds from an ISO-8601 string (any offset; naive means UTC), Unix seconds or Unix milliseconds.

    Devices send all three (ThingsBoard and JavaScript clients milliseconds);
    a number, or a string of nine digits or more, from MILLISECONDS_FROM on
    counts as milliseconds. Raises ValueError when it is none of them.
    """
    if isinstance(value, bool):
        raise ValueError("a timestamp is an ISO-8601 string, Unix seconds or Unix milliseconds")
    if isinstance(value, str) and _UNIX_NUMBER.match(value):
        value = float(value)
    if isinstance(value, (int, float)):
        return round(value) if abs(value) >= MILLISECONDS_FROM else round(value * 1000)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)
