"""What an alert rule's condition means: whether a reading meets it, and the rule in words."""
from webapp.core import values


def is_met(condition, threshold, low, high, value):
    """Whether a reading of `value` meets the condition. A reading never meets `no_data`; a string
    meets only `=` (compared as the device sent it, with true, 1 and 1.0 alike)."""
    if condition == "no_data":
        return False
    if condition == "=":
        return values.same_value(value, threshold)
    number = values.numeric(value)
    if number is None:
        return False
    if condition == ">":
        return number > threshold
    if condition == "<":
        return number < threshold
    return number < low or number > high


def describe(key, condition, threshold, low, high, for_seconds):
    """`temperature > 30 for 60 s`, `humidity outside 30–70`, `mode = "eco"`, `temperature: no data for 300 s`."""
    if condition == "no_data":
        return f"{key}: no data for {for_seconds} s"
    text = f"{key} outside {_number(low)}–{_number(high)}" if condition == "outside" else f"{key} {condition} {values.encode(threshold)}"
    return f"{text} for {for_seconds} s" if for_seconds else text


def _number(value):
    return f"{value:.6g}"
