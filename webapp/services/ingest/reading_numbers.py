"""The numbers (`seq`) a device's readings carried, per boot id: what tells a resent reading from a new one.

Kept in the device's own row (`devices.reading_numbers`), which the ingest
writer updates in every transaction anyway (it marks the device seen), as
runs of consecutive numbers per boot: the firmware numbers its readings one
by one, so a boot's numbers are one run, or a few where readings were lost.
A row per reading cost a quarter of the ingest rate (bench/README.md); this
costs a JSON value of a few dozen bytes per device.

A boot silent for DEDUPE_WINDOW_SECONDS is forgotten (a counter that starts
over comes with a new boot id anyway); a boot keeps its MAX_RUNS newest
runs, a device its MAX_BOOTS latest boots.
"""
import bisect

import orjson

MAX_RUNS = 64
MAX_BOOTS = 8


def decode(text):
    """{boot: [last seen ms, [[first, last], …] sorted]} from the stored JSON (None: nothing yet)."""
    return {} if text is None else orjson.loads(text)


def encode(numbers, oldest_kept_ms):
    """The JSON to store: boots seen since `oldest_kept_ms`, the MAX_BOOTS latest of them."""
    # Mostly one boot, seen just now: nothing to drop (this runs for every numbered reading).
    if len(numbers) > MAX_BOOTS or any(held[0] < oldest_kept_ms for held in numbers.values()):
        kept = sorted(((boot, held) for boot, held in numbers.items() if held[0] >= oldest_kept_ms), key=lambda item: item[1][0])
        numbers = dict(kept[-MAX_BOOTS:])
    return orjson.dumps(numbers).decode()


def seen(numbers, boot, seq, oldest_kept_ms):
    """Whether `seq` of `boot` is among the numbers, the boot seen since `oldest_kept_ms`."""
    held = numbers.get(boot)
    if held is None or held[0] < oldest_kept_ms:
        return False
    runs = held[1]
    index = bisect.bisect_right(runs, [seq, float("inf")]) - 1
    return index >= 0 and runs[index][0] <= seq <= runs[index][1]


def add(numbers, boot, seq, now, oldest_kept_ms):
    """Add `seq` of `boot` (not already there), joining it to the runs it touches."""
    held = numbers.get(boot)
    if held is None or held[0] < oldest_kept_ms:
        held = numbers[boot] = [now, []]
    held[0] = now
    runs = held[1]
    index = bisect.bisect_right(runs, [seq, float("inf")])
    joins_before = index > 0 and runs[index - 1][1] == seq - 1
    joins_after = index < len(runs) and runs[index][0] == seq + 1
    if joins_before and joins_after:
        runs[index - 1][1] = runs.pop(index)[1]
    elif joins_before:
        runs[index - 1][1] = seq
    elif joins_after:
        runs[index][0] = seq
    else:
        runs.insert(index, [seq, seq])
        if len(runs) > MAX_RUNS:
            runs.pop(0)
