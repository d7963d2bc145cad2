"""Work each worker process does beside requests: the presence sweep and the history prune.

Started by gunicorn's post_worker_init hook (after gevent has patched the
worker), never by create_app, so tests and CLI commands start no threads.
"""
import logging
import threading
import time

from webapp.services import jobs, presence, retention
from webapp.services.clock import now_ms

log = logging.getLogger(__name__)


def start_background_tasks(app):
    stop = threading.Event()
    threading.Thread(target=_sweep_presence_forever, args=(app, stop), name="presence-sweep", daemon=True).start()
    threading.Thread(target=prune_history_forever, args=(app, stop), name="history-prune", daemon=True).start()
    return stop


def _sweep_presence_forever(app, stop):
    while not stop.is_set():
        with app.app_context():
            try:
                presence.mark_offline_stale_devices(now_ms())
                interval = presence.sweep_interval(app.config)
            except Exception:
                log.exception("presence sweep failed; retrying")
                interval = 1.0
            finally:
                app.extensions["sqlalchemy"].session.remove()
        stop.wait(interval)


def prune_history_forever(app, stop):
    """Every RETENTION_PRUNE_INTERVAL seconds one worker (whichever claims the run) prunes expired history."""
    interval = max(1, app.config["RETENTION_PRUNE_INTERVAL"])
    while not stop.is_set():
        with app.app_context():
            try:
                if jobs.claim_due_run("prune_history", now_ms(), interval * 1000):
                    deleted = retention.prune_expired_readings(now_ms(), pause=_let_requests_run)
                    if deleted:
                        log.info("history prune deleted %d expired readings", deleted)
            except Exception:
                log.exception("history prune failed; the next run is due in %d s", interval)
            finally:
                app.extensions["sqlalchemy"].session.remove()
        # Workers that lost the claim look again before the next run is due.
        stop.wait(min(interval, 60))


def _let_requests_run():
    # Under gevent this yields, so a request waiting for SQLite's one connection takes it between chunks.
    time.sleep(0)
