"""The runs of reading numbers kept per device and boot (services/ingest/reading_numbers.py)."""
from webapp.services.ingest import reading_numbers as numbers

BOOT = "9f3a07c2"


def held(*seqs, now=1000, oldest_kept=0):
    kept = {}
    for seq in seqs:
        numbers.add(kept, BOOT, seq, now, oldest_kept)
    return kept


def test_consecutive_numbers_make_one_run_whatever_their_order():
    assert held(1, 2, 3, 5, 4)[BOOT][1] == [[1, 5]]


def test_a_gap_stays_a_gap_until_filled():
    kept = held(1, 2, 10)

    assert kept[BOOT][1] == [[1, 2], [10, 10]]
    assert [numbers.seen(kept, BOOT, seq, 0) for seq in (0, 1, 2, 3, 9, 10, 11)] == [False, True, True, False, False, True, False]


def test_the_oldest_runs_go_first_past_the_limit():
    kept = held(*range(0, 2 * (numbers.MAX_RUNS + 1), 2))

    assert len(kept[BOOT][1]) == numbers.MAX_RUNS
    assert not numbers.seen(kept, BOOT, 0, 0) and numbers.seen(kept, BOOT, 2, 0)


def test_a_boot_not_seen_within_the_window_is_forgotten_and_starts_afresh():
    kept = held(1, now=1000)

    assert not numbers.seen(kept, BOOT, 1, oldest_kept_ms=2000)
    numbers.add(kept, BOOT, 7, 3000, oldest_kept_ms=2000)
    assert kept[BOOT] == [3000, [[7, 7]]]


def test_only_boots_within_the_window_and_the_latest_few_are_stored():
    kept = {}
    for index in range(numbers.MAX_BOOTS + 2):
        numbers.add(kept, f"{index:08x}", 1, 1000 + index, 0)

    stored = numbers.decode(numbers.encode(kept, oldest_kept_ms=1002))

    assert sorted(stored) == [f"{index:08x}" for index in range(2, numbers.MAX_BOOTS + 2)]
