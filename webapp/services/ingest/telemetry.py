"""Accepting device requests: the one path telemetry, batches and polls take.

A request is authenticated, counted against its device's rate limit and
checked against the device's rules (all from the in-process directory, no
database round trip), then handed to the process's group-commit writer,
which answers once its readings are committed.
"""
from dataclasses import dataclass

from flask import current_app

from webapp.core.clock import now_ms, parse_timestamp_ms
from webapp.core.errors import ApiError, InvalidRequest, InvalidToken, NotFound, RuleDenied, shown
from webapp.core.rate_limits import count_request, count_requests
from webapp.extensions import db
from webapp.services.devices import registry as devices
from webapp.services.devices import rules, state
from webapp.services.ingest.writer import Job, ingest_writer
from webapp.services.ota import updates


@dataclass(slots=True)
class LiveReading:
    """A reading as a device sends it live (the body of `POST /devices/<id>/telemetry`): `ts` as sent, or None
    for now; `identity` its (boot, seq) or None; `health` the device's `device` report."""

    token: object
    data: dict
    ts: object = None
    identity: tuple | None = None
    health: dict | None = None
    device_id: str | None = None


def ingest_telemetry(token, data, source_ip, device_id=None, *, ts=None, identity=None, health=None, delivers_commands=False):
    """Store one live reading; the committed Job (its `view` is the state afterwards).

    `ts` (as sent) is when the reading was taken, else it is now; `identity`
    its (boot, seq): a repeat of a reading already stored answers as usual
    and is not stored again. `health` is the device's `device` report.
    `delivers_commands`: the answer carries the commands waiting (view.commands).
    """
    (queued,) = submit_readings([LiveReading(token, data, ts, identity, health, device_id)], source_ip, delivers_commands)
    if isinstance(queued, Exception):
        raise queued
    job = queued.outcome()
    if delivers_commands:
        with_offer(job.view)
    return job


def submit_readings(readings, source_ip, delivers_commands=False):
    """Admit live readings (LiveReading) together and queue them for storing, in order: for each, its queued
    Job (`outcome()` waits for its commit, so one caller may have many readings in one commit) or the ApiError
    that refused it."""
    outcomes = [None] * len(readings)
    for number, reading in enumerate(readings):
        try:
            outcomes[number] = None if reading.ts is None else reading_ms(reading.ts, "ts")
        except InvalidRequest as refused:
            outcomes[number] = refused
    timed = [number for number, outcome in enumerate(outcomes) if not isinstance(outcome, ApiError)]
    admitted = admit_devices([(readings[number].token, readings[number].device_id, [readings[number].data]) for number in timed], source_ip)
    writer = ingest_writer(current_app)
    for number, device in zip(timed, admitted, strict=True):
        if isinstance(device, ApiError):
            outcomes[number] = device
            continue
        reading = readings[number]
        identities = None if reading.identity is None else [reading.identity]
        job = Job(
            device.id, [(outcomes[number], reading.data)], identities=identities, health=reading.health, delivers_commands=delivers_commands,
            transport=transport_of(reading.token),
        )
        outcomes[number] = writer.submit(job)
    return outcomes


def ingest_records(token, records, source_ip, device_id=None, field="ts"):
    """Store readings sent together (a batch buffered offline, a vendor's array): (accepted, duplicates).

    `records` are (ts as sent or None, data, (boot, seq) or None) triples; a
    record without ts is live (stored now). A numbered record already stored
    (its identity, within DEDUPE_WINDOW_SECONDS), or an unnumbered one whose
    ts the device already has in history (or earlier among these), is a
    duplicate. `field` names the timestamp in errors.
    """
    records = [record for record in records if record[1]]  # a record without data stores nothing (the request still counts as seen)
    timed = [(None if ts is None else reading_ms(ts, field), data) for ts, data, _ in records]
    identities = [identity for _, _, identity in records]
    device = admit_device(token, device_id, [data for _, data in timed], source_ip)
    job = Job(device.id, timed, idempotent=True, identities=identities if any(identities) else None, transport=transport_of(token))
    ingest_writer(current_app).write(job)
    return job.accepted, len(timed) - job.accepted


def device_status(token, source_ip):
    """Whether the token's device is online, asked by someone other than the device (it does not count as seen)."""
    device = admit_device(token, None, [], source_ip)
    return devices.find_device(device.id).status


def record_poll(token, source_ip, device_id=None, delivers_commands=False):
    """A poll marks the device seen like any request; the committed Job with the device's state."""
    return submit_poll(token, source_ip, device_id, delivers_commands).outcome()


def submit_poll(token, source_ip, device_id=None, delivers_commands=False):
    """`record_poll`, returning once the poll is admitted and queued: its `outcome()` waits for the commit."""
    device = admit_device(token, device_id, [], source_ip)
    return ingest_writer(current_app).submit(Job(device.id, [], delivers_commands=delivers_commands, transport=transport_of(token)))


def latest_state(token, source_ip, seen_etags, wait):
    """A poll: the device's state and the commands waiting for it; with `wait` > 0 and an ETag it
    already has, held until either changes."""
    view = with_offer(record_poll(token, source_ip, delivers_commands=True).view)
    if wait > 0 and seen_etags.contains(view.etag):
        view = state.wait_for_change(view.device_id, view.etag, wait, answer_view)
    return view


def answer_view(device_id):
    """What a poll answers the device: its state, the commands waiting for it (delivered from now on), its offer."""
    return with_offer(state.read_state(device_id, with_commands=True))


def with_offer(view):
    """`view` with the update on offer for its device (services/ota/updates.py), as our answers carry it."""
    view.ota = updates.offer_for(view.device_id)
    if db.session.registry.has() and db.session().in_transaction():
        # The writer needs the connection (SQLite has one): end the read.
        db.session.commit()
    return view


def transport_of(token):
    """How a device's request came: "mqtt" when the broker authenticated it (a BrokerLogin), else "http"."""
    return "mqtt" if isinstance(token, devices.BrokerLogin) else "http"


def admit_device(token, device_id, readings, source_ip, limit="RATELIMIT_DEVICE"):
    """The authenticated device, once its rules and its rate limit (the setting `limit`) let this request through."""
    (device,) = admit_devices([(token, device_id, readings)], source_ip, limit)
    if isinstance(device, ApiError):
        raise device
    return device


def admit_devices(requests, source_ip, limit="RATELIMIT_DEVICE"):
    """For each request (token, device_id, readings), in order: the authenticated device once its rules and its
    rate limit (the setting `limit`) let the request through, or the ApiError that refuses it. The requests are
    counted against their devices' rate limits together (with Redis, one round trip)."""
    admitted = []
    for token, device_id, _ in requests:
        try:
            admitted.append(devices.authenticate_device(token, device_id))
        except (InvalidToken, NotFound) as refused:
            # Guessing tokens or ids from one address is throttled: past the limit, failures answer 429.
            admitted.append(count_request("RATELIMIT_AUTH_FAILURES", "auth-failure", source_ip) or refused)
    known = [number for number, device in enumerate(admitted) if not isinstance(device, ApiError)]
    over_limits = count_requests(limit, limit, [admitted[number].id for number in known])
    for number, over_limit in zip(known, over_limits, strict=True):
        device = admitted[number]
        denial = rules.first_denial(device, requests[number][2], source_ip)
        if denial is not None:
            rules.record_denial(device.id, denial)
            admitted[number] = RuleDenied(f"Denied by rule '{denial.rule}': {denial.reason}", rule=denial.rule)
        elif over_limit is not None:
            admitted[number] = over_limit
    # A directory miss reads through the session: end that transaction, for the writer needs the
    # connection (SQLite has one). Most requests never touched the session; they skip making one.
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    return admitted


def reading_ms(ts, field):
    """A reading's time as a device sent it (ISO-8601, Unix seconds or milliseconds), in milliseconds;
    InvalidRequest naming `field` when it is none of those, before 1970, or further ahead than clock skew."""
    try:
        ms = parse_timestamp_ms(ts)
    except (ValueError, OverflowError):
        raise InvalidRequest(f"{field} '{shown(ts)}' is neither ISO-8601 nor Unix seconds or milliseconds.") from None
    latest_allowed = now_ms() + current_app.config["BATCH_MAX_FUTURE_SECONDS"] * 1000
    if not 0 <= ms <= latest_allowed:
        raise InvalidRequest(f"{field} '{shown(ts)}' is before 1970 or more than {current_app.config['BATCH_MAX_FUTURE_SECONDS']} s in the future.")
    return ms
