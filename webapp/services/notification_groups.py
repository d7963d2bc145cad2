"""Folding a flood of an owner's notifications of one kind into one summary (docs/PRESENCE.md, "Grouping").

When many devices change at once (the broker restarts and the fleet reconnects, a site loses power),
the per-device cooldown does not help: each device notifies once. So per owner and kind, the first
NOTIFICATION_GROUP_AFTER notifications within NOTIFICATION_GROUP_WINDOW seconds are sent one by one,
and the rest of that window are folded into one summary, "12 more devices went offline: Pump,
Garage, Boiler and 9 others", whose count grows in place.

The window is claimed with one UPDATE that adds a call's notifications to its count and returns the
total. That row stays locked until the caller commits, so callers in several workers take turns on it:
each knows exactly which of its notifications are past the threshold, whether the summary exists yet,
and which devices it names.
"""
from dataclasses import dataclass

import orjson
from flask import current_app
from sqlalchemy import bindparam, case, update

from webapp.core import sql
from webapp.extensions import db
from webapp.models import Notification, NotificationGroup

NAMED = 3

# What the devices of a summary did; each reads after "1 more device" as after "12 more devices".
SUMMARY_TEXTS = {
    "online": "came online",
    "offline": "went offline",
    "alert": "raised an alert",
    "alert_cleared": "had an alert cleared",
    "rule_denied": "had a request denied by a rule",
    "webhook_failing": "had a webhook failing",
}


@dataclass
class Fold:
    """This call's part of an owner's summary: `folded` devices more, `total` in all, naming `names`
    (`renamed`: more than before)."""

    user_id: int
    kind: str
    summary_id: int | None
    folded: int
    total: int
    names: list
    renamed: bool

    @property
    def message(self):
        devices = "device" if self.total == 1 else "devices"
        what = SUMMARY_TEXTS.get(self.kind, f"notified {self.kind.replace('_', ' ')}")
        others = self.total - len(self.names)
        if others:
            listed = f"{', '.join(self.names)} and {others} other{'s' if others != 1 else ''}"
        else:
            listed = " and ".join([", ".join(self.names[:-1]), self.names[-1]]) if len(self.names) > 1 else self.names[0]
        return f"{self.total} more {devices} {what}: {listed}"


def split(kind, devices, now):
    """(devices notified one by one, folds into their owners' summaries) for `devices` (rows with id,
    owner_id, name) that may notify `kind` now. Claims the owners' windows until the commit."""
    after = current_app.config["NOTIFICATION_GROUP_AFTER"]
    if after == 0 or not devices:
        return list(devices), []
    by_owner = {}
    for device in devices:
        by_owner.setdefault(device.owner_id, []).append(device)
    windows = _claim_windows(kind, {owner_id: len(listed) for owner_id, listed in by_owner.items()}, now)
    alone, folds = [], []
    for owner_id, listed in sorted(by_owner.items()):
        window = windows[owner_id]
        singles = max(0, after - (window.sent - len(listed)))
        alone += listed[:singles]
        folded = listed[singles:]
        if folded:
            named = orjson.loads(window.named)
            names = (named + [device.name for device in folded])[:NAMED]
            folds.append(Fold(owner_id, kind, window.summary_id, len(folded), window.sent - after, names, len(names) > len(named)))
    return alone, folds


def summary_row(fold, now):
    """The notification row of a summary this call opens."""
    return {"user_id": fold.user_id, "device_id": None, "kind": fold.kind, "message": fold.message,
            "created_ms": now, "muted_count": 0, "grouped_count": fold.total}


def record(folds, opened):
    """Count `folds` on their summaries, existing or `opened` now ({user id: summary id}); remember what each names."""
    grown = [fold for fold in folds if fold.summary_id is not None]
    if grown:
        summaries = Notification.__table__
        db.session.execute(
            update(summaries)
            .where(summaries.c.id == bindparam("summary"))
            .values(grouped_count=summaries.c.grouped_count + bindparam("more"), message=bindparam("text")),
            [{"summary": fold.summary_id, "more": fold.folded, "text": fold.message} for fold in grown],
        )
    # Once the summary exists and names its few, the window's row has nothing new to remember.
    remembered = [
        {"user_id": fold.user_id, "kind": fold.kind, "summary_id": fold.summary_id or opened[fold.user_id], "named": orjson.dumps(fold.names).decode()}
        for fold in folds
        if fold.summary_id is None or fold.renamed
    ]
    if remembered:
        db.session.execute(update(NotificationGroup), remembered)


def _claim_windows(kind, counts, now):
    """Add `counts` ({owner id: notifications}) to each owner's window of `kind`, one opened where none is
    running; the windows after it, locked until the commit."""
    owners = sorted(counts)
    windows = _add_to_windows(kind, counts, owners, now)
    unseen = [owner_id for owner_id in owners if owner_id not in windows]
    if unseen:
        # Empty windows for owners never grouped, then counted like the others (another worker may insert first).
        db.session.execute(
            sql.insert(NotificationGroup)
            .values([{"user_id": owner_id, "kind": kind, "window_start_ms": now, "sent": 0, "summary_id": None, "named": "[]"} for owner_id in unseen])
            .on_conflict_do_nothing()
        )
        windows |= _add_to_windows(kind, counts, unseen, now)
    return windows


def _add_to_windows(kind, counts, owners, now):
    group = NotificationGroup
    ended = group.window_start_ms <= now - current_app.config["NOTIFICATION_GROUP_WINDOW"] * 1000
    rows = db.session.execute(
        update(group)
        .where(group.user_id.in_(owners), group.kind == kind)
        .values(
            sent=case((ended, 0), else_=group.sent) + case(counts, value=group.user_id),
            window_start_ms=case((ended, now), else_=group.window_start_ms),
            summary_id=case((ended, None), else_=group.summary_id),
            named=case((ended, "[]"), else_=group.named),
        )
        .returning(group.user_id, group.sent, group.summary_id, group.named)
        .execution_options(synchronize_session=False)
    )
    return {row.user_id: row for row in rows}
