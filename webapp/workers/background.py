"""Work each worker process does beside requests: the presence sweep (and command timeouts), webhook delivery, the history prune, the alert check,
and with MQTT_URL devices' MQTT messages.

Started by gunicorn's post_worker_init hook (after gevent has patched the
worker, so these threads are greenlets), never by create_app, so tests and
CLI commands start no threads.
"""
import logging
import threading
import time

from webapp.core.clock import now_ms
from webapp.pubsub.mqtt import BrokerUnreachable
from webapp.services import outbox
from webapp.services.alerts import evaluation as alerts
from webapp.services.devices import commands, presence
from webapp.services.history import retention
from webapp.services.platform import jobs
from webapp.services.webhooks import delivery as webhook_delivery
from webapp.services.webhooks import registry as webhooks
from webapp.transports.mqtt.device_messages import DeviceMessages

log = logging.getLogger(__name__)

# Finished webhook deliveries are pruned this often (per worker).
PRUNE_INTERVAL = 600
# How often a worker tries the MQTT broker again while it does not answer.
MQTT_RETRY_SECONDS = 5


def start_background_tasks(app):
    stop = threading.Event()
    threading.Thread(target=_sweep_presence_forever, args=(app, stop), name="presence-sweep", daemon=True).start()
    for lane in range(app.config["WEBHOOK_CONCURRENCY"]):
        threading.Thread(target=deliver_webhooks_forever, args=(app, stop, lane), name=f"webhooks-{lane}", daemon=True).start()
    threading.Thread(target=prune_history_forever, args=(app, stop), name="history-prune", daemon=True).start()
    threading.Thread(target=check_alerts_forever, args=(app, stop), name="alert-check", daemon=True).start()
    if app.config["MQTT_URL"]:
        threading.Thread(target=take_device_messages, args=(app, stop), name="mqtt-devices", daemon=True).start()
    return stop


def take_device_messages(app, stop):
    """Subscribe to devices' MQTT messages (transports/mqtt/), trying until the broker answers."""
    messages = DeviceMessages(app)
    app.extensions["mqtt_device_messages"] = messages
    while not stop.is_set():
        try:
            messages.start()
            return
        except BrokerUnreachable as unreachable:
            log.warning("%s; devices' MQTT messages wait until it answers", unreachable)
        except Exception:
            log.exception("reconciling the MQTT broker's accounts failed; retrying")
        stop.wait(MQTT_RETRY_SECONDS)


def _sweep_presence_forever(app, stop):
    while not stop.is_set():
        started = time.monotonic()
        with app.app_context():
            try:
                presence.mark_offline_stale_devices(now_ms())
                # Commands past their timeout are marked on the same beat: a dashboard sees "timed out" within a second or so.
                commands.time_out_expired(now_ms())
                interval = presence.sweep_interval(app.config)
            except Exception:
                log.exception("presence sweep failed; retrying")
                interval = 1.0
            finally:
                app.extensions["sqlalchemy"].session.remove()
        # On a fixed schedule, so a slow sweep does not stretch the 1.2 × timeout bound.
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def deliver_webhooks_forever(app, stop, lane=0):
    """One delivery lane: deliver due webhook events until `stop`.

    Idle, it waits until this worker commits new deliveries, or for
    WEBHOOK_POLL_INTERVAL_MS (retries that came due, other workers' events).
    Several lanes per worker keep one slow receiver from holding up the others.
    """
    pruned_at = time.monotonic()
    while not stop.is_set():
        claimed = 0
        with app.app_context():
            try:
                claimed = webhook_delivery.deliver_due()
                if lane == 0 and time.monotonic() - pruned_at > PRUNE_INTERVAL:
                    webhooks.prune_log(now_ms())
                    pruned_at = time.monotonic()
            except Exception:
                log.exception("webhook delivery failed; retrying")
            finally:
                app.extensions["sqlalchemy"].session.remove()
        if not claimed:
            outbox.deliveries_queued.wait(app.config["WEBHOOK_POLL_INTERVAL_MS"] / 1000)
            outbox.deliveries_queued.clear()


def prune_history_forever(app, stop):
    """Every RETENTION_PRUNE_INTERVAL seconds one worker (whichever claims the run) prunes expired history."""
    interval = max(1, app.config["RETENTION_PRUNE_INTERVAL"])
    while not stop.is_set():
        with app.app_context():
            try:
                if jobs.claim_due_run("prune_history", now_ms(), interval * 1000):
                    deleted = retention.prune_expired_history(now_ms(), pause=_let_requests_run)
                    if deleted:
                        log.info("history prune deleted %d expired rows", deleted)
            except Exception:
                log.exception("history prune failed; the next run is due in %d s", interval)
            finally:
                app.extensions["sqlalchemy"].session.remove()
        # Workers that lost the claim look again before the next run is due.
        stop.wait(min(interval, 60))


def check_alerts_forever(app, stop):
    """Every ALERT_CHECK_INTERVAL seconds one worker (whichever claims the run) raises the alerts time
    raises: conditions held for their N seconds, keys silent for theirs (services/alerts/evaluation.py)."""
    interval = max(1, app.config["ALERT_CHECK_INTERVAL"])
    while not stop.is_set():
        started = time.monotonic()
        with app.app_context():
            try:
                if jobs.claim_due_run("check_alerts", now_ms(), interval * 1000):
                    alerts.raise_due_alerts(now_ms())
            except Exception:
                log.exception("alert check failed; retrying")
            finally:
                app.extensions["sqlalchemy"].session.remove()
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def _let_requests_run():
    # Under gevent this yields, so a request waiting for SQLite's one connection takes it between chunks.
    time.sleep(0)
