"""Query-string arguments parsed with a clear 400 for bad values."""
from flask import request

from webapp.core.errors import InvalidRequest


def int_arg(name, default, low, high):
    """The whole number `name` from the query string, `default` when absent; InvalidRequest outside [low, high]."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}.")
    return value


def bool_arg(name):
    """True for `1`, `true`, `yes` (any case); False when absent or anything else."""
    return request.args.get(name, "").strip().lower() in ("1", "true", "yes")
