"""HTTP Range requests (RFC 9110 §14) of a file a device downloads: one byte range, resumable from any byte."""
from werkzeug.http import parse_range_header

from webapp.core.errors import RangeNotSatisfiable


def requested_range(environ, size):
    """(start, length, partial) of the bytes to send: the whole file unless a satisfiable `Range` names one range.

    A header that is not a byte range is ignored, as RFC 9110 allows; a
    range that starts past the end is RangeNotSatisfiable (416).
    """
    header = environ.get("HTTP_RANGE")
    parsed = parse_range_header(header) if header else None
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return 0, size, False
    bounds = parsed.range_for_length(size)
    if bounds is None:
        raise RangeNotSatisfiable(f"The range {header} is outside the {size} bytes.", headers={"Content-Range": f"bytes */{size}"})
    start, stop = bounds
    return start, stop - start, True
