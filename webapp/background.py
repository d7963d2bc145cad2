"""Work each worker process does beside requests: the presence sweep.

Started by gunicorn's post_worker_init hook (after gevent has patched the
worker), never by create_app, so tests and CLI commands start no threads.
"""
import logging
import threading

from webapp.services import presence
from webapp.services.clock import now_ms

log = logging.getLogger(__name__)


def start_background_tasks(app):
    stop = threading.Event()
    threading.Thread(target=_sweep_presence_forever, args=(app, stop), name="presence-sweep", daemon=True).start()
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
