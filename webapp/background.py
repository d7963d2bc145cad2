"""Work each worker process does beside requests: the presence sweep, and ending live streams on exit.

Started by gunicorn's post_worker_init hook (after gevent has patched the
worker), never by create_app, so tests and CLI commands start no threads.
"""
import logging
import threading

from webapp.services import presence
from webapp.services.clock import now_ms

log = logging.getLogger(__name__)


def start_background_tasks(app, worker_alive=None):
    """`worker_alive` (gunicorn's worker.alive) turning false means the worker is stopping."""
    stop = threading.Event()
    threading.Thread(target=_sweep_presence_forever, args=(app, stop), name="presence-sweep", daemon=True).start()
    if worker_alive is not None:
        threading.Thread(target=_end_live_streams_on_exit, args=(app, worker_alive, stop), name="live-streams-exit", daemon=True).start()
    return stop


def _end_live_streams_on_exit(app, worker_alive, stop):
    # gunicorn waits for open requests before a stopping worker exits, and a
    # dashboard's stream never ends by itself: end them, the browsers reconnect.
    while worker_alive() and not stop.is_set():
        stop.wait(0.5)
    app.extensions["live_streams"].end_all()


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
