"""Accepting device requests: the one path telemetry, batches and polls take.

A request is authenticated, counted against its device's rate limit and
checked against the device's rules (all from the in-process directory, no
database round trip), then handed to the process's group-commit writer,
which answers once its readings are committed.
"""
from flask import current_app

from webapp.core.clock import now_ms, parse_timestamp_ms
from webapp.core.errors import InvalidRequest, InvalidToken, NotFound, RuleDenied
from webapp.core.rate_limits import count_request
from webapp.extensions import db
from webapp.services.devices import registry as devices
from webapp.services.devices import rules, state
from webapp.services.ingest.writer import Job, ingest_writer


def ingest_telemetry(token, data, source_ip, device_id=None):
    """Store one live reading; the committed Job (its `view` is the state afterwards)."""
    device = admit_device(token, device_id, [data], source_ip)
    return ingest_writer(current_app).write(Job(device.id, [(None, data)]))


def ingest_batch(token, device_id, records, source_ip):
    """Store readings a device buffered offline, idempotent on (device, ts): (accepted, duplicates).

    `records` are (ts as sent, data) pairs. A record whose ts the device
    already has in history (or earlier in this batch) is a duplicate.
    """
    timed = [(_record_ms(ts), data) for ts, data in records]
    device = admit_device(token, device_id, [data for _, data in timed], source_ip)
    job = ingest_writer(current_app).write(Job(device.id, timed, idempotent=True))
    return job.accepted, len(timed) - job.accepted


def record_poll(token, source_ip):
    """A poll marks the device seen like any request; the committed Job with the device's state."""
    device = admit_device(token, None, [], source_ip)
    return ingest_writer(current_app).write(Job(device.id, []))


def latest_state(token, source_ip, seen_etags, wait):
    """A poll: the device's state; with `wait` > 0 and an ETag it already has, held until it changes."""
    view = record_poll(token, source_ip).view
    if wait > 0 and seen_etags.contains(view.etag):
        view = state.wait_for_change(view.device_id, view.etag, wait)
    return view


def admit_device(token, device_id, readings, source_ip):
    """The authenticated device, once its rules and its rate limit let this request through."""
    try:
        device = devices.authenticate_device(token, device_id)
    except (InvalidToken, NotFound):
        # Guessing tokens or ids from one address is throttled: past the limit, failures answer 429.
        refused = count_request("RATELIMIT_AUTH_FAILURES", "auth-failure", source_ip)
        if refused is not None:
            raise refused from None
        raise
    over_limit = count_request("RATELIMIT_DEVICE", "device", device.id)
    denial = rules.first_denial(device, readings, source_ip)
    if denial is not None:
        rules.record_denial(device.id, denial)
        raise RuleDenied(f"Denied by rule '{denial.rule}': {denial.reason}", rule=denial.rule)
    if over_limit is not None:
        raise over_limit
    # A directory miss reads through the session: end that transaction, for the writer needs the
    # connection (SQLite has one). Most requests never touched the session; they skip making one.
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    return device


def _record_ms(ts):
    try:
        ms = parse_timestamp_ms(ts)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"records[].ts '{ts}' is neither ISO-8601 nor Unix seconds.") from None
    latest_allowed = now_ms() + current_app.config["BATCH_MAX_FUTURE_SECONDS"] * 1000
    if not 0 <= ms <= latest_allowed:
        raise InvalidRequest(f"records[].ts '{ts}' is before 1970 or in the future.")
    return ms
