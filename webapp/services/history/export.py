"""History as CSV, produced a page at a time so that a download of any size streams.

Raw rows are `timestamp,key,value`; bucket rows are
`bucket_start,key,count,min,max,avg,last`. Numbers and booleans appear as
JSON writes them (`23.5`, `1`, `true`); strings as their text. A string
that a spreadsheet would run as a formula (starting with = + - @ or a tab
or carriage return) is prefixed with `'`, as OWASP advises for CSV.
"""
import csv
import io

from flask import current_app

from webapp.core import values
from webapp.core.clock import iso_ms
from webapp.services.history import query as history

RAW_HEADER = ["timestamp", "key", "value"]
BUCKET_HEADER = ["bucket_start", "key", "count", "min", "max", "avg", "last"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_chunks(device_id, key, window):
    """The CSV text, one string per page of readings (or of buckets), header first."""
    page_size = current_app.config["HISTORY_EXPORT_CHUNK"]
    if window.bucket_ms is None:
        yield _csv([RAW_HEADER])
        for page in history.iter_point_pages(device_id, key, window, page_size):
            yield _csv([iso_ms(row.ts_ms), key, _cell(row.value)] for row in page)
    else:
        yield _csv([BUCKET_HEADER])
        for page in history.iter_bucket_pages(device_id, key, window, page_size):
            yield _csv(_bucket_row(row, key, window.bucket_ms) for row in page)


def csv_filename(device_id, key, window):
    """`<device>-<key>-<from>-<to>.csv`, with compact UTC times (keys are safe in file names)."""

    def compact(ms):
        return iso_ms(ms)[:19].replace("-", "").replace(":", "") + "Z"

    return f"{device_id}-{key}-{compact(window.start_ms)}-{compact(window.end_ms)}.csv"


def _bucket_row(row, key, bucket_ms):
    return [iso_ms(row.bucket * bucket_ms), key, row.count, _number(row.min), _number(row.max), _number(row.avg), _cell(row.last)]


def _cell(stored):
    """A stored JSON value as a CSV cell: numbers and booleans verbatim, strings unquoted and defused."""
    if not stored.startswith('"'):
        return stored
    text = values.decode(stored)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _number(value):
    return "" if value is None else repr(float(value))


def _csv(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
