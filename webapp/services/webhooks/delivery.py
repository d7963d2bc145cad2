"""Delivering the webhook outbox: claim due rows, POST them signed, retry with backoff, log every attempt.

Any number of workers run `deliver_due` side by side. A row is claimed by
one atomic UPDATE that sets a lease (`claimed_until_ms`) and a random claim
id; a worker that dies mid-delivery leaves the lease to expire, and another
worker delivers the row again with the same X-ThingsNXT-Delivery id
(at-least-once). A failure pauses the whole webhook with exponential
backoff and jitter, so a receiver that is down gets one probe per backoff
step rather than its whole backlog; the first success releases the backlog.
An event is retried for WEBHOOK_RETRY_WINDOW; a webhook failing without a
success for WEBHOOK_DISABLE_AFTER is disabled and its owner notified.
"""
import hashlib
import hmac
import logging
import random
import secrets
import time
from itertools import groupby
from urllib.parse import urlsplit

import urllib3
from flask import current_app
from sqlalchemy import func, or_, select, update
from urllib3.connection import HTTPConnection, HTTPSConnection

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Webhook, WebhookAttempt, WebhookDelivery
from webapp.services import notifications
from webapp.services.webhooks import registry as webhooks
from webapp.services.webhooks import targets as webhook_targets

log = logging.getLogger(__name__)

USER_AGENT = "ThingsNXT-Webhooks/1"
# Consecutive failures after which the owner hears that a webhook is failing (before it is disabled).
FAILING_NOTICE_AFTER = 5
MAX_ERROR_LENGTH = 300
RESPONSE_SNIPPET_BYTES = 200


def deliver_due(now=None):
    """Claim up to WEBHOOK_BATCH_SIZE due deliveries and attempt them; how many were claimed."""
    now = now or now_ms()
    claimed_at = time.monotonic()
    claim, rows = claim_due(now, current_app.config["WEBHOOK_BATCH_SIZE"])
    for webhook_id, group in groupby(rows, key=lambda row: row.webhook_id):
        _deliver_in_order(webhook_id, list(group), claim, claimed_at)
    return len(rows)


def claim_due(now, limit):
    """Lease up to `limit` due deliveries to this caller: (claim id, rows ordered by webhook and age).

    A cheap read first, so idle polls never take SQLite's write lock. The
    outer WHERE repeats the due condition: on PostgreSQL a row another
    worker claimed meanwhile is rechecked against it and skipped.
    """
    claimable = (
        WebhookDelivery.next_attempt_ms <= now,
        or_(WebhookDelivery.claimed_until_ms.is_(None), WebhookDelivery.claimed_until_ms < now),
    )
    due = (
        select(WebhookDelivery.id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(*claimable, Webhook.enabled.is_(True), or_(Webhook.paused_until_ms.is_(None), Webhook.paused_until_ms <= now))
        .order_by(WebhookDelivery.next_attempt_ms, WebhookDelivery.id)
        .limit(limit)
    )
    if not db.session.scalars(due).first():
        db.session.commit()
        return None, []
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=WebhookDelivery, skip_locked=True)
    claim = secrets.randbits(62) + 1
    rows = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due.scalar_subquery()), *claimable)
        .values(claimed_until_ms=now + lease_ms(), claim=claim)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.webhook_id,
            WebhookDelivery.uid,
            WebhookDelivery.event,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return claim, sorted(rows, key=lambda row: (row.webhook_id, row.id))


def lease_ms():
    """How long a claim holds: the setting, but never less than two request timeouts."""
    config = current_app.config
    return max(config["WEBHOOK_LEASE_MS"], 2 * config["WEBHOOK_TIMEOUT"] * 1000)


def _deliver_in_order(webhook_id, rows, claim, leased_at):
    """Send one webhook's rows oldest first, stopping at the first failure (which pauses the webhook).

    Before each send, a lease half used up is renewed, so no row's lease can
    run out while it is being sent (the lease is at least two timeouts).
    """
    webhook = db.session.execute(select(Webhook.id, Webhook.device_id, Webhook.url, Webhook.secret).where(Webhook.id == webhook_id)).first()
    db.session.commit()
    if webhook is None:
        return
    pending = list(rows)
    while pending:
        if time.monotonic() - leased_at > lease_ms() / 2000:
            pending, leased_at = _renew(pending, claim), time.monotonic()
            continue
        row = pending.pop(0)
        outcome = send(webhook, row)
        if not outcome.ok:
            _record_failure(webhook, row, outcome, claim)
            return
        _record_success(webhook, row, outcome)


def _renew(rows, claim):
    """Extend the lease of `rows` still held under `claim`; those rows."""
    held = set(
        db.session.scalars(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([row.id for row in rows]), WebhookDelivery.claim == claim, WebhookDelivery.next_attempt_ms.is_not(None))
            .values(claimed_until_ms=now_ms() + lease_ms())
            .returning(WebhookDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return [row for row in rows if row.id in held]


class Outcome:
    def __init__(self, started_ms, duration_ms, status_code=None, error=None):
        self.started_ms, self.duration_ms = started_ms, duration_ms
        self.status_code, self.error = status_code, error
        self.ok = error is None and status_code is not None and 200 <= status_code < 300


def signature(secret, body):
    """The X-ThingsNXT-Signature value: `sha256=` and the HMAC-SHA256 of the raw body, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(webhook, row):
    """POST one delivery; the Outcome (never raises for network or HTTP failures)."""
    body = row.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ThingsNXT-Event": row.event,
        "X-ThingsNXT-Delivery": row.uid,
        "X-ThingsNXT-Attempt": str(row.attempts + 1),
        "X-ThingsNXT-Signature": signature(webhook.secret, body),
    }
    started_ms, started = now_ms(), time.monotonic()
    status_code, error = None, None
    parts = urlsplit(webhook.url)
    pool = urllib3.connection_from_url(webhook.url, maxsize=1, retries=False)
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        pool.ConnectionCls = _PublicHTTPSConnection if parts.scheme == "https" else _PublicHTTPConnection
    try:
        response = pool.urlopen(
            "POST",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers=headers,
            retries=False,
            redirect=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(total=current_app.config["WEBHOOK_TIMEOUT"]),
            preload_content=False,
        )
        try:
            status_code = response.status
            if not 200 <= status_code < 300:
                snippet = response.read(RESPONSE_SNIPPET_BYTES, decode_content=False).decode("utf-8", "replace").strip()
                note = " (redirects are not followed)" if 300 <= status_code < 400 else ""
                error = f"HTTP {status_code}{note}" + (f": {snippet}" if snippet else "")
        finally:
            response.release_conn()
    except webhook_targets.BlockedAddress as exc:
        error = f"refused: {exc}"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        pool.close()
    duration_ms = round((time.monotonic() - started) * 1000)
    return Outcome(started_ms, duration_ms, status_code, error[:MAX_ERROR_LENGTH] if error else None)


class _PublicPeerOnly:
    """Checks the address actually connected to, so DNS rebinding cannot reach a private host."""

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            webhook_targets.check_address(sock.getpeername()[0])
        except webhook_targets.BlockedAddress:
            sock.close()
            raise
        return sock


class _PublicHTTPConnection(_PublicPeerOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, HTTPSConnection):
    pass


def _log_attempt(webhook, row, outcome):
    db.session.add(
        WebhookAttempt(
            delivery_id=row.id,
            device_id=webhook.device_id,
            webhook_id=webhook.id,
            number=row.attempts + 1,
            attempted_ms=outcome.started_ms,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            ok=outcome.ok,
        )
    )


def _record_success(webhook, row, outcome):
    now = now_ms()
    _log_attempt(webhook, row, outcome)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == row.id, WebhookDelivery.next_attempt_ms.is_not(None))
        .values(status="delivered", attempts=row.attempts + 1, next_attempt_ms=None, claimed_until_ms=None, claim=None, completed_ms=now)
        .execution_options(synchronize_session=False)
    )
    recovered = db.session.execute(
        update(Webhook)
        .where(Webhook.id == webhook.id, Webhook.consecutive_failures > 0)
        .values(consecutive_failures=0, failing_since_ms=None, paused_until_ms=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if recovered:
        # The backlog was pushed back by the failures: it is due now.
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.next_attempt_ms > now)
            .values(next_attempt_ms=now)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _record_failure(webhook, row, outcome, claim):
    """Log the failure, pause the webhook with backoff, push its backlog past the pause; maybe disable it."""
    config = current_app.config
    now = now_ms()
    _log_attempt(webhook, row, outcome)
    failures, failing_since = db.session.execute(
        update(Webhook)
        .where(Webhook.id == webhook.id)
        .values(consecutive_failures=Webhook.consecutive_failures + 1, failing_since_ms=func.coalesce(Webhook.failing_since_ms, now))
        .returning(Webhook.consecutive_failures, Webhook.failing_since_ms)
        .execution_options(synchronize_session=False)
    ).one()
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == row.id, WebhookDelivery.claim == claim)
        .values(attempts=row.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    disable = now - failing_since >= config["WEBHOOK_DISABLE_AFTER"] * 1000
    host = urlsplit(webhook.url).hostname
    if disable:
        webhooks.disable(webhook.id, f"Failed for {_duration(now - failing_since)} without a success; last error: {outcome.error}", now)
    else:
        paused_until = now + backoff_ms(failures)
        _postpone_backlog(webhook.id, paused_until, claim, now)
    db.session.commit()
    log.info("webhook %s to %s failed (%d in a row): %s", webhook.id, host, failures, outcome.error)
    if disable:
        notifications.notify_owner(
            webhook.device_id, "webhook_failing", f"webhook to {host} was disabled after failing for {_duration(now - failing_since)}: {outcome.error}", now
        )
    elif failures == FAILING_NOTICE_AFTER:
        notifications.notify_owner(webhook.device_id, "webhook_failing", f"webhook to {host} is failing ({outcome.error}); retrying with backoff", now)


def _postpone_backlog(webhook_id, paused_until, claim, now):
    """Pause the webhook; its pending rows wait for the pause, and those past the retry window give up.

    Rows another worker holds are left to it.
    """
    window_ms = current_app.config["WEBHOOK_RETRY_WINDOW"] * 1000
    db.session.execute(update(Webhook).where(Webhook.id == webhook_id).values(paused_until_ms=paused_until))
    not_held_elsewhere = or_(WebhookDelivery.claim.is_(None), WebhookDelivery.claim == claim, WebhookDelivery.claimed_until_ms < now)
    pending = (WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.next_attempt_ms.is_not(None), not_held_elsewhere)
    db.session.execute(
        update(WebhookDelivery)
        .where(*pending, WebhookDelivery.created_ms + window_ms < paused_until)
        .values(status="failed", next_attempt_ms=None, claimed_until_ms=None, claim=None, completed_ms=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(*pending, WebhookDelivery.next_attempt_ms < paused_until)
        .values(next_attempt_ms=paused_until, claimed_until_ms=None, claim=None)
        .execution_options(synchronize_session=False)
    )


def backoff_ms(failures, rng=random):
    """The pause after the n-th consecutive failure: doubling from WEBHOOK_BACKOFF_INITIAL_MS up to
    WEBHOOK_BACKOFF_MAX_MS, jittered to between half and all of it so workers do not retry in step."""
    config = current_app.config
    delay = min(config["WEBHOOK_BACKOFF_MAX_MS"], config["WEBHOOK_BACKOFF_INITIAL_MS"] * 2 ** min(failures - 1, 40))
    return int(delay / 2 + rng.random() * delay / 2)


def _duration(ms):
    hours, minutes = divmod(round(ms / 60000), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min" if minutes else f"{ms // 1000} s"
