"""When alerts are raised and cleared: by readings as they are stored, and by time.

A rule is `ok`, `pending` (its condition met, for less than `for_seconds`
so far) or `active` (raised). Readings move it, in the ingest writer's
transaction (`evaluate_readings`): a reading that meets the condition raises
it at once (`for_seconds` 0) or makes it pending, and raises it once a later
one still meets it `for_seconds` after the first; a reading that does not
meet it clears it (or ends the wait). Only readings newer than the newest
the rule has seen count, so a batch from the past changes nothing. Time
moves it in `raise_due_alerts`, run by one worker per ALERT_CHECK_INTERVAL:
a pending rule whose condition has held long enough is raised without
waiting for another reading, and a `no_data` rule whose key has sent
nothing for `for_seconds` is raised; its next reading clears it.

Each transition is written with the rule locked (the writer selects its
rules FOR UPDATE; the check's UPDATE … WHERE state = … waits for that lock
and then sees the writer's outcome), so with any number of workers a
transition is made, recorded in the history and announced exactly once:
the `alert_raised`/`alert_cleared` webhook event, the owner's notification
(kinds `alert` and `alert_cleared`, under the notification cooldown) and
the dashboards' update.
"""
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, func, insert, select, update

from webapp.core import values
from webapp.extensions import db
from webapp.models import AlertEvent, AlertRule
from webapp.services import events
from webapp.services.alerts import conditions
from webapp.services.alerts.rules import view_of

RULES = AlertRule.__table__
PROGRESS_COLUMNS = ("state", "since_ms", "seen_ms", "last_value")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a rule stands: its state, since when, and the newest reading it has judged (value as stored)."""

    state: str
    since_ms: int | None
    seen_ms: int | None
    last_value: str | None


def evaluate_readings(connection, jobs):
    """Judge the readings of `jobs` (the writer's, with their timestamps set) against their devices' rules,
    on `connection` in its transaction: the events of the alerts they raise and clear."""
    series = {}
    for job in jobs:
        for ts, data in job.records:
            for key, value in data.items():
                series.setdefault((job.device_id, key), []).append((ts, value))
    if not series:
        return []
    device_ids = sorted({device_id for device_id, _ in series})
    rows = connection.execute(select(RULES).where(RULES.c.device_id.in_(device_ids)).order_by(RULES.c.id).with_for_update()).all()
    moved, transitions = [], []
    for rule in rows:
        readings = series.get((rule.device_id, rule.key))
        if not readings:
            continue
        progress = Progress(rule.state, rule.since_ms, rule.seen_ms, rule.last_value)
        for ts, value in sorted(readings, key=lambda reading: reading[0]):
            progress, transition = judge(rule, progress, ts, value)
            if transition is not None:
                transitions.append((view_of(rule), transition, value, ts))
        if progress.seen_ms != rule.seen_ms:
            moved.append({"rule_id": rule.id, **{name: getattr(progress, name) for name in PROGRESS_COLUMNS}})
    if moved:
        connection.execute(update(RULES).where(RULES.c.id == bindparam("rule_id")).values({name: bindparam(name) for name in PROGRESS_COLUMNS}), moved)
    return _record(connection, transitions)


def judge(rule, progress, ts, value):
    """(the rule's progress after a reading of `value` at `ts`, "raised" / "cleared" / None)."""
    if progress.seen_ms is not None and ts <= progress.seen_ms:
        return progress, None
    seen = replace(progress, seen_ms=ts, last_value=values.encode(value))
    threshold = values.decode(rule.threshold)
    if not conditions.is_met(rule.condition, threshold, rule.low, rule.high, value):
        if progress.state == "active":
            return replace(seen, state="ok", since_ms=None), "cleared"
        return replace(seen, state="ok", since_ms=None), None
    if progress.state == "active":
        return seen, None
    since = progress.since_ms if progress.state == "pending" else ts
    if ts - since >= rule.for_seconds * 1000:
        return replace(seen, state="active", since_ms=ts), "raised"
    return replace(seen, state="pending", since_ms=since), None


def raise_due_alerts(now):
    """Raise what time alone raises by `now`: pending rules met for their `for_seconds`, and `no_data` rules
    whose key has been silent that long. Commits and announces them; how many were raised."""
    due = (RULES.c.since_ms + RULES.c.for_seconds * 1000 <= now) & (RULES.c.state == "pending")
    silent = (
        (RULES.c.condition == "no_data")
        & (RULES.c.state == "ok")
        & (func.coalesce(RULES.c.seen_ms, RULES.c.created_ms) + RULES.c.for_seconds * 1000 <= now)
    )
    transitions = []
    for condition in (due, silent):
        raised = db.session.execute(
            update(RULES).where(condition).values(state="active", since_ms=now).returning(*RULES.c).execution_options(synchronize_session=False)
        ).all()
        transitions += [(view_of(rule), "raised", None if rule.condition == "no_data" else values.decode(rule.last_value), now) for rule in raised]
    told = _record(db.session.connection(), transitions)
    events.emit(*told)
    return len(told)


def _record(connection, transitions):
    """Write the history rows of `transitions` ((AlertView, kind, value, at_ms)…): their events, to record and announce."""
    if not transitions:
        return []
    connection.execute(
        insert(AlertEvent),
        [
            {"device_id": rule.device_id, "rule_id": rule.id, "kind": kind, "description": rule.description, "value": _stored(value), "at_ms": at}
            for rule, kind, value, at in transitions
        ],
    )
    return [events.alert_changed(rule.device_id, rule.id, kind, rule.description, value, at) for rule, kind, value, at in transitions]


def _stored(value):
    return None if value is None else values.encode(value)
