"""Reading history back: raw points or time buckets of one key of one device, over a window.

A window is half-open, [start, end): a reading at `end` belongs to the next
window, so adjacent windows never count a reading twice. Buckets are aligned
to multiples of their width since the Unix epoch (so `1d` buckets start at
UTC midnight) and only buckets holding readings are returned. The first and
last bucket may be partial: they hold only the readings inside the window.

A chart asks for as many `points` as it can draw (its width in pixels): it
gets the readings themselves when the window holds no more, else a bucket per
pixel or so, each with its min, max, average and last reading (the min–max
band keeps every spike a pixel wide), so a window of a million readings costs
the browser no more than one of a hundred. A chart that opens on a window
`fit` to the data is given the shortest of an hour, a day or a week that
holds the key's readings of the last week.

Reads run a page at a time (`iter_point_pages`, `iter_bucket_pages`), each
page in a short transaction of its own that releases the connection before
the page is handed on: a download of any size, or buckets over a long
window, never holds SQLite's one connection for long.
"""
import re
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import BigInteger, func, literal, select, text
from sqlalchemy.orm import aliased

from webapp.core.clock import iso_ms, parse_timestamp_ms
from webapp.core.errors import InvalidRequest, shown
from webapp.extensions import db
from webapp.models import Reading

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
DEFAULT_SPAN_MS = DAY_MS
# The windows a chart offers, shortest first: `fit` picks one of these.
FITTING_SPANS_MS = (HOUR_MS, DAY_MS, WEEK_MS)
LATEST_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# What a client is told to ask for when a window holds too much: the smallest that fits.
SUGGESTED_BUCKETS = ["1s", "5s", "10s", "30s", "1m", "5m", "10m", "15m", "30m", "1h", "2h", "3h", "6h", "12h", "1d", "7d"]

_BUCKET = re.compile(r"^(\d{1,9})([smhdw]?)$")
_UNIX_SECONDS = re.compile(r"^-?\d+(\.\d+)?$")
# A `+05:30` offset sent unencoded in a query string arrives as ` 05:30`.
_OFFSET_AS_SPACE = re.compile(r" (\d\d(:?\d\d)?)$")


class TooManyPoints(InvalidRequest):
    code = "too_many_points"


class TooManyBuckets(InvalidRequest):
    code = "too_many_buckets"


@dataclass(frozen=True)
class Window:
    start_ms: int
    end_ms: int
    bucket_ms: int | None = None

    @property
    def bucket_count(self):
        """How many buckets the window spans, empty ones included."""
        return (self.end_ms - 1) // self.bucket_ms - self.start_ms // self.bucket_ms + 1


def resolve_window(start=None, end=None, bucket=None, *, now, fit=None):
    """The window a request asks for: `start`/`end` as ISO-8601 (any offset) or Unix seconds.

    `end` defaults to `now` and `start` to 24 hours before `end` (empty, as
    a form sends them, is the default too), or with `fit` (a device id and
    key) to the shortest of 1 h, 1 d and 7 d before `end` that holds every
    reading of the key in the last 7 d; `bucket` is `30s`, `1m`, `5m`, `1h`,
    `1d`, … or whole seconds, or None for raw points.
    """
    if fit is not None and start:
        raise InvalidRequest("Ask for a window that fits the data (fit) or one that starts at from, not both.")
    end_ms = _instant("to", end) if end else now
    span_ms = _fitting_span(*fit, end_ms) if fit is not None else DEFAULT_SPAN_MS
    start_ms = _instant("from", start) if start else max(end_ms - span_ms, 0)
    if start_ms >= end_ms:
        raise InvalidRequest(f"from ({iso_ms(start_ms)}) must be before to ({iso_ms(end_ms)}).")
    return Window(start_ms, end_ms, _bucket_ms(bucket) if bucket else None)


@dataclass(frozen=True)
class History:
    """What one history request read: the rows of a window, raw readings or buckets as `window` says."""

    device_id: str
    key: str
    window: Window
    rows: list


def read_history(device_id, key, window, points=None):
    """The readings of `key` in `window`, raw or in buckets, within the configured limits.

    With `points` (what a chart can draw), the readings themselves if the window holds at most that
    many, else buckets of whole seconds, as narrow as keep them to `points`; the History says which.
    """
    if points is not None:
        rows = _at_most(device_id, key, window, points)
        if rows is not None:
            return History(device_id, key, window, rows)
        window = _bucketed_to(window, points)
    rows = _raw_points(device_id, key, window) if window.bucket_ms is None else _buckets(device_id, key, window)
    return History(device_id, key, window, rows)


def iter_point_pages(device_id, key, window, page_rows):
    """Every reading in the window, oldest first, as lists of at most `page_rows` rows (keyset paging)."""
    cursor = window.start_ms
    while True:
        rows = _read(_points_query(device_id, key, cursor, window.end_ms, page_rows))
        _end_transaction()
        if rows:
            yield rows
        if len(rows) < page_rows:
            return
        cursor = rows[-1].ts_ms + 1


def iter_bucket_pages(device_id, key, window, page_buckets):
    """Every non-empty bucket in the window, oldest first, a span of `page_buckets` buckets at a time."""
    width = window.bucket_ms
    cursor = window.start_ms
    while cursor < window.end_ms:
        page_end = min(window.end_ms, (cursor // width + page_buckets) * width)
        rows = _read(_buckets_query(device_id, key, cursor, page_end, width))
        _end_transaction()
        if rows:
            yield rows
        cursor = page_end


def suggest_bucket(window):
    """The smallest usual bucket that keeps the window within HISTORY_MAX_BUCKETS."""
    limit = current_app.config["HISTORY_MAX_BUCKETS"]
    for name in SUGGESTED_BUCKETS:
        if Window(window.start_ms, window.end_ms, _bucket_ms(name)).bucket_count <= limit:
            return name
    return SUGGESTED_BUCKETS[-1]


def _at_most(device_id, key, window, points):
    """The window's readings if they are at most `points`, else None."""
    limit = current_app.config["HISTORY_MAX_BUCKETS"]
    if window.bucket_ms is not None:
        raise InvalidRequest("Ask for buckets of a width (bucket) or for at most some points (points), not both.")
    if not 2 <= points <= limit:
        raise InvalidRequest(f"points must be from 2 to {limit}.")
    rows = _read(_points_query(device_id, key, window.start_ms, window.end_ms, points + 1))
    return rows if len(rows) <= points else None


def _bucketed_to(window, points):
    """The window in buckets of whole seconds, as narrow as keep them to `points`."""
    # At most points - 1 widths in the span: aligned to the epoch, the buckets then number at most `points`.
    width_ms = -(-(window.end_ms - window.start_ms) // ((points - 1) * 1000)) * 1000
    return Window(window.start_ms, window.end_ms, width_ms)


def _fitting_span(device_id, key, end_ms):
    longest = FITTING_SPANS_MS[-1]
    # The first row in key order, not min(): one index seek whatever the planner's statistics say.
    oldest = _read(_points_query(device_id, key, end_ms - longest, end_ms, 1).with_only_columns(Reading.ts_ms))
    if not oldest:
        return FITTING_SPANS_MS[0]
    return next(span for span in FITTING_SPANS_MS if end_ms - span <= oldest[0].ts_ms)


def _raw_points(device_id, key, window):
    limit = current_app.config["HISTORY_MAX_POINTS"]
    rows = _read(_points_query(device_id, key, window.start_ms, window.end_ms, limit + 1))
    if len(rows) > limit:
        suggestion = suggest_bucket(window)
        raise TooManyPoints(
            f"The window holds more than {limit} readings: ask for buckets (bucket={suggestion}), "
            "a shorter window, or all of them as CSV (format=csv).",
            suggested_bucket=suggestion,
        )
    return rows


def _buckets(device_id, key, window):
    limit = current_app.config["HISTORY_MAX_BUCKETS"]
    if window.bucket_count > limit:
        suggestion = suggest_bucket(window)
        raise TooManyBuckets(
            f"The window spans {window.bucket_count} buckets of {window.bucket_ms // 1000} s, more than {limit}: "
            f"ask for larger buckets (bucket={suggestion}) or a shorter window.",
            suggested_bucket=suggestion,
        )
    # A week (or one bucket) of readings per transaction: a year of a fast device read at once
    # would hold SQLite's connection, and with it every other request, for seconds. (Measured:
    # pages of a day cost the week query 40 % more.)
    per_page = max(1, WEEK_MS // window.bucket_ms)
    return [row for page in iter_bucket_pages(device_id, key, window, per_page) for row in page]


def _points_query(device_id, key, start_ms, end_ms, limit):
    return (
        select(Reading.ts_ms, Reading.value)
        .where(Reading.device_id == device_id, Reading.key == key, Reading.ts_ms >= start_ms, Reading.ts_ms < end_ms)
        .order_by(Reading.ts_ms)
        .limit(limit)
    )


def _buckets_query(device_id, key, start_ms, end_ms, bucket_ms):
    """min/max/avg/count per bucket in one pass over the key's range; each bucket's last value by its primary key."""
    # Inlined, so GROUP BY repeats the very expression the SELECT has (PostgreSQL insists).
    width = literal(bucket_ms, BigInteger, literal_execute=True)
    bucket = (Reading.ts_ms // width).label("bucket")
    per_bucket = (
        select(
            bucket,
            func.count().label("count"),
            func.min(Reading.num).label("min"),
            func.max(Reading.num).label("max"),
            func.avg(Reading.num).label("avg"),
            func.max(Reading.ts_ms).label("last_ms"),
        )
        .where(Reading.device_id == device_id, Reading.key == key, Reading.ts_ms >= start_ms, Reading.ts_ms < end_ms)
        .group_by(bucket)
        .subquery()
    )
    # A correlated lookup per bucket: a join lets planners hash the key's whole history instead.
    last = aliased(Reading)
    last_value = (
        select(last.value)
        .where(last.device_id == device_id, last.key == key, last.ts_ms == per_bucket.c.last_ms)
        .scalar_subquery()
    )
    return select(per_bucket, last_value.label("last")).order_by(per_bucket.c.bucket)


def _read(query):
    if db.session.get_bind().dialect.name == "postgresql":
        # The planner overestimates the per-bucket lookups, and JIT-compiling the plan
        # would take 50-500 ms for a query that runs in a few; off for this transaction only.
        db.session.execute(text("SET LOCAL jit = off"))
    return db.session.execute(query).all()


def _end_transaction():
    # Hands the connection back to the pool (SQLite has one per process), then yields, so
    # under gevent a request waiting for it runs before the next page takes it again.
    db.session.commit()
    time.sleep(0)


def _instant(name, raw):
    text = raw.strip()
    try:
        # Unix seconds, whatever their size: a history window is asked for by people, not sent by devices in milliseconds.
        ms = round(float(text) * 1000) if _UNIX_SECONDS.match(text) else _iso_ms(text)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{name} '{shown(raw)}' is neither ISO-8601 (e.g. 2026-11-27T10:00:00+01:00; encode + as %2B) nor Unix seconds."
        ) from None
    if not 0 <= ms <= LATEST_MS:
        raise InvalidRequest(f"{name} '{shown(raw)}' is before 1970 or after 9999.")
    return ms


def _iso_ms(text):
    try:
        return parse_timestamp_ms(text)
    except ValueError:
        repaired = _OFFSET_AS_SPACE.sub(r"+\1", text)
        if repaired == text:
            raise
        return parse_timestamp_ms(repaired)


def _bucket_ms(raw):
    match = _BUCKET.match(raw.strip())
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"] if match else 0
    if not 1 <= seconds <= 366 * 86400:
        raise InvalidRequest(f"bucket '{shown(raw)}' is not a duration from 1s to 366d, like 30s, 1m, 5m, 1h, 1d or 300 (seconds).")
    return seconds * 1000
