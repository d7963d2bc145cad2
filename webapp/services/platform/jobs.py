"""Periodic jobs shared by all workers: each run is claimed by one worker, atomically in the database."""
from sqlalchemy import update

from webapp.core import sql
from webapp.extensions import db
from webapp.models import ScheduledJob


def claim_due_run(name, now, interval_ms):
    """True for the one caller that takes the run of `name` due by `now`; the next run is due `interval_ms` later."""
    db.session.execute(sql.insert(ScheduledJob).on_conflict_do_nothing(), {"name": name, "due_ms": now})
    claimed = db.session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.due_ms <= now)
        .values(due_ms=now + interval_ms)
        .returning(ScheduledJob.name)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return claimed is not None
