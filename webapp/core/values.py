"""Telemetry values as stored: JSON text that keeps 1, 1.0, true and "1" apart."""
import orjson


def encode(value):
    return orjson.dumps(value).decode()


def decode(text):
    return None if text is None else orjson.loads(text)


def numeric(value):
    """The number a chart can plot for this value, or None for strings."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    return None


def same_value(a, b):
    """Whether a device's report satisfies a desired value: true, 1 and 1.0 all switch a pin on."""
    if numeric(a) is not None and numeric(b) is not None:
        return numeric(a) == numeric(b)
    return a == b
