"""Group commit: one writer per process stores every ingest, many requests per transaction.

A request hands its readings to the writer and waits; the writer takes all
that is queued, writes it in one transaction of a few statements, commits,
and only then answers each waiting request. An answer therefore always
means "stored". Under gevent the queue fills while the writer works, so the
busier the server, the larger (and cheaper per reading) each transaction.

If a transaction fails, the writer retries its jobs one by one, so one bad
job (say, a timestamp collision with another worker) fails alone.

The statements are plain SQL that SQLite (3.35+) and PostgreSQL both run:
this is the one path where statement-building overhead matters.
"""
import logging
import queue
import secrets
import threading
from dataclasses import dataclass, field

import orjson
from flask import current_app

from webapp.core import metrics, sql, values
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.services import events
from webapp.services.alerts import evaluation as alerts
from webapp.services.devices import commands, state
from webapp.services.directory import directory
from webapp.services.ingest import reading_numbers

log = logging.getLogger(__name__)

MAX_JOBS_PER_TRANSACTION = 500

READING_COLUMNS = [("device_id", "text"), ("key", "text"), ("ts_ms", "bigint"), ("num", "float8"), ("value", "text")]
STATE_COLUMNS = [("device_id", "text"), ("key", "text"), ("reported", "text"), ("reported_ms", "bigint")]
# A newer report replaces the state; an older one (from a batch upload) only goes to history.
NEWER_REPORT_WINS = (
    "ON CONFLICT (device_id, key) DO UPDATE SET reported = excluded.reported, reported_ms = excluded.reported_ms "
    "WHERE device_state.reported_ms IS NULL OR device_state.reported_ms <= excluded.reported_ms"
)
# A device is marked seen over the transport of its request: MQTT for those in :mqtt, else HTTP.
_TRANSPORT = "CASE WHEN id IN :mqtt THEN 'mqtt' ELSE 'http' END"
# The claim id (a multiple of 4) is written only where the status or the transport changes, plus WENT_ONLINE and
# NEW_TRANSPORT for what changed: read back, it tells which devices this statement took online or moved to another
# transport, each change claimed once however many workers mark the device seen at once.
WENT_ONLINE, NEW_TRANSPORT = 1, 2
_MARK_SEEN = (
    f"UPDATE devices SET last_seen_ms = :now, status = 'online', transport = {_TRANSPORT}, "
    f"presence_claim = CASE WHEN status = 'online' AND transport = {_TRANSPORT} THEN presence_claim "
    f"ELSE :claim + CASE WHEN status = 'online' THEN 0 ELSE {WENT_ONLINE} END + CASE WHEN transport = {_TRANSPORT} THEN 0 ELSE {NEW_TRANSPORT} END END"
    "{also} WHERE id IN :ids RETURNING id, presence_claim, transport"
)
MARK_SEEN = _MARK_SEEN.format(also="")
# …and stores the reading numbers (reading_numbers.py) of those that sent numbered readings, given as {device id: JSON}:
# the row is written anyway, so keeping them there costs next to nothing.
MARK_SEEN_SAVING_NUMBERS = {
    "sqlite": _MARK_SEEN.format(also=""", reading_numbers = coalesce(json_extract(:numbers, '$."' || id || '"'), reading_numbers)"""),
    "postgresql": _MARK_SEEN.format(also=", reading_numbers = coalesce(CAST(:numbers AS jsonb) ->> id, reading_numbers)"),
}
# The numbers each device's readings carried (reading_numbers.py), read and then rewritten (MARK_SEEN) in the same
# transaction; PostgreSQL locks the rows first, in id order, so two workers storing one device take turns.
READ_NUMBERS = "SELECT id, reading_numbers FROM devices WHERE id IN :ids"
LOCK_SUFFIX = " ORDER BY id FOR UPDATE"
HEALTH_COLUMNS = [("device_id", "text"), ("report", "text"), ("reported_ms", "bigint")]
LATEST_HEALTH = "ON CONFLICT (device_id) DO UPDATE SET report = excluded.report, reported_ms = excluded.reported_ms"
# Through the device's keys (each has a state row), so the lookup seeks the (device, key, ts) primary key.
KNOWN_TIMESTAMPS = (
    "SELECT DISTINCT ts_ms FROM readings WHERE device_id = :device_id "
    "AND key IN (SELECT key FROM device_state WHERE device_id = :device_id) AND ts_ms IN :timestamps"
)


@dataclass
class Job:
    """Readings of one device to store: (ts_ms, data) pairs, ts None meaning "now"; none for a poll.

    `identities`, when given, holds each record's (boot, seq), or None for a
    record the device did not number: a numbered record already stored is a
    repeat. `idempotent` (batches): an unnumbered record the device gave a ts
    already stored is one too. `health` is the device's latest `device` report.
    Every job marks its device seen, and comes back with the device's state.
    """

    device_id: str
    records: list
    idempotent: bool = False
    identities: list | None = None
    health: dict | None = None
    # The answer carries the commands waiting for the device (our telemetry and poll answers), which counts as delivering them.
    delivers_commands: bool = False
    # How the device sent it: "http" or "mqtt" (the device is marked seen over it).
    transport: str = "http"
    done: threading.Event = field(default_factory=threading.Event)
    view: state.StateView | None = None
    accepted: int = 0
    timestamp_ms: int = 0
    error: BaseException | None = None

    def outcome(self):
        """The job once committed; its error raised if it failed."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self


class IngestWriter:
    def __init__(self, app):
        self._app = app
        self._jobs = queue.Queue()
        # What a transaction announces (events, presence) goes out from a thread of its own: never slows the writer.
        self._announcements = queue.Queue()
        self._threads = None
        self._start_lock = threading.Lock()
        self._last_ts = {}

    def write(self, job):
        """Store the job's readings; returns once committed (or raises the job's error)."""
        return self.submit(job).outcome()

    def submit(self, job):
        """Queue the job and return at once: `job.outcome()` waits for its commit. Jobs are stored in the order queued."""
        self._ensure_running()
        self._jobs.put(job)
        return job

    def drain(self):
        """Wait until everything queued so far is written and announced (for shutdown and tests)."""
        self._jobs.join()
        self._announcements.join()

    def _ensure_running(self):
        # Started on first use, inside the serving process, so never before gevent patches it.
        if self._threads is None:
            with self._start_lock:
                if self._threads is None:
                    self._threads = [
                        threading.Thread(target=self._write_forever, name="ingest-writer", daemon=True),
                        threading.Thread(target=self._announce_forever, name="ingest-announcer", daemon=True),
                    ]
                    for thread in self._threads:
                        thread.start()

    def _write_forever(self):
        while True:
            batch = _take_all(self._jobs, MAX_JOBS_PER_TRANSACTION)
            with self._app.app_context():
                self._write_batch(batch)
                db.session.remove()
            _done_with(self._jobs, batch)

    def _announce_forever(self):
        while True:
            announcements = _take_all(self._announcements, MAX_JOBS_PER_TRANSACTION)
            with self._app.app_context():
                try:
                    self._announce(announcements)
                except Exception:
                    log.exception("announcing ingested readings failed")
                db.session.remove()
            _done_with(self._announcements, announcements)

    def _write_batch(self, batch):
        # What the jobs were given: storing drops repeats from them, and a failed transaction is retried job by job
        # from these (a repeat dropped for its copy in another job of the failed transaction is one no longer).
        given = [(job.records, job.identities) for job in batch]
        try:
            told, queued, readings = self._store(batch)
        except Exception as exc:
            for job, (records, identities) in zip(batch, given, strict=True):
                job.records, job.identities = records, identities
            if len(batch) == 1:
                log.warning("ingest of device %s failed: %s", batch[0].device_id, exc)
                batch[0].error = exc
                batch[0].done.set()
                return
            for job in batch:
                self._write_batch([job])
            return
        metrics.READINGS.inc(readings)
        for job in batch:
            job.done.set()
        self._announcements.put((told, queued))

    def _store(self, batch):
        now = now_ms()
        with db.engine.begin() as connection:
            cursor = sql.DriverCursor(connection)
            for job in batch:
                if job.idempotent:
                    self._drop_known(cursor, job)
                self._timestamp(job, now)
            numbered = [job for job in batch if job.identities is not None]
            numbers = self._drop_repeats(cursor, numbered, now) if numbered else None
            for job in batch:
                job.accepted = len(job.records)
            readings = [
                {"device_id": job.device_id, "key": key, "ts_ms": ts, "num": values.numeric(value), "value": values.encode(value)}
                for job in batch
                for ts, data in job.records
                for key, value in data.items()
            ]
            if readings:
                cursor.insert_rows("readings", READING_COLUMNS, readings, "ON CONFLICT DO NOTHING")
                cursor.insert_rows("device_state", STATE_COLUMNS, _newest_per_key(readings), NEWER_REPORT_WINS)
            reports = {job.device_id: job.health for job in batch if job.health is not None}
            if reports:
                rows = [{"device_id": device_id, "report": values.encode(report), "reported_ms": now} for device_id, report in reports.items()]
                cursor.insert_rows("device_health", HEALTH_COLUMNS, rows, LATEST_HEALTH)
            transports = {job.device_id: job.transport for job in batch}
            device_ids = sorted(transports)
            claim = (secrets.randbits(59) + 1) << 2
            marking = {"now": now, "claim": claim, "ids": device_ids, "mqtt": sorted(device for device, used in transports.items() if used == "mqtt")}
            if numbers is None:
                seen = cursor.execute(MARK_SEEN, marking).fetchall()
            else:
                seen = cursor.execute(MARK_SEEN_SAVING_NUMBERS[cursor.dialect], marking | {"numbers": numbers}).fetchall()
            changed = {device_id: (stored_claim - claim, transport) for device_id, stored_claim, transport in seen if 0 < stored_claim - claim <= WENT_ONLINE | NEW_TRANSPORT}
            online = [device_id for device_id, (flags, _) in changed.items() if flags & WENT_ONLINE]
            views = state.read_states(connection, device_ids)
            for job in batch:
                job.view = views.get(job.device_id) or state.StateView(job.device_id)
            told = [events.readings_stored(job.view, job.records) for job in batch if job.records]
            known = directory()
            asking = [job.device_id for job in batch if job.delivers_commands and known.may_have(job.device_id, "commands")]
            if asking:
                waiting, delivered = commands.deliver_waiting(connection, asking, now)
                for job in batch:
                    if job.delivers_commands:
                        job.view.commands = waiting.get(job.device_id, [])
                told += delivered
            told += [events.status_changed(device_id, "online", now) for device_id in online]
            told += [events.transport_changed(device_id, transport, now) for device_id, (flags, transport) in changed.items() if flags & NEW_TRANSPORT]
            told += [events.health_reported(device_id, report, now) for device_id, report in reports.items()]
            # Most devices have no alert rule: the directory says so without a query.
            told += alerts.evaluate_readings(connection, [job for job in batch if job.records and known.may_have(job.device_id, "alert_rules")])
            queued = events.record(connection, told)
        return told, queued, len(readings)

    def _timestamp(self, job, now):
        """Give live readings strictly increasing timestamps per device: history is keyed by (device, key, ts)."""
        timed = []
        for ts, data in job.records:
            if ts is None:
                ts = max(now, self._last_ts.get(job.device_id, 0) + 1)
                self._last_ts[job.device_id] = ts
            timed.append((ts, data))
        job.records = timed
        job.timestamp_ms = max((ts for ts, _ in timed), default=now)

    @staticmethod
    def _drop_repeats(cursor, jobs, now):
        """Keep the numbered records stored for the first time: a (device, boot, seq) among the device's
        reading numbers (within DEDUPE_WINDOW_SECONDS), or earlier in this transaction, is a repeat.
        The devices' numbers after them, {device id: JSON} as JSON, for MARK_SEEN to store."""
        device_ids = sorted({job.device_id for job in jobs})
        read = READ_NUMBERS + (LOCK_SUFFIX if cursor.postgresql else "")
        numbers = {device_id: reading_numbers.decode(text) for device_id, text in cursor.execute(read, {"ids": device_ids}).fetchall()}
        oldest_kept = now - current_app.config["DEDUPE_WINDOW_SECONDS"] * 1000
        for job in jobs:
            held = numbers.setdefault(job.device_id, {})
            keep = []
            for identity in job.identities:
                fresh = identity is None or not reading_numbers.seen(held, *identity, oldest_kept)
                if identity is not None and fresh:
                    reading_numbers.add(held, *identity, now, oldest_kept)
                keep.append(fresh)
            job.records = [record for record, kept in zip(job.records, keep, strict=True) if kept]
            job.identities = [identity for identity, kept in zip(job.identities, keep, strict=True) if kept]
        return orjson.dumps({device_id: reading_numbers.encode(held, oldest_kept) for device_id, held in numbers.items()}).decode()

    @staticmethod
    def _drop_known(cursor, job):
        """Keep the records whose ts neither history nor an earlier record of the job holds; numbered
        records are told apart by their number instead (_drop_repeats), live ones (no ts yet) are new."""
        identities = job.identities or [None] * len(job.records)
        timestamps = sorted({ts for (ts, _), identity in zip(job.records, identities, strict=True) if identity is None and ts is not None})
        if not timestamps:
            return
        known = {row[0] for row in cursor.execute(KNOWN_TIMESTAMPS, {"device_id": job.device_id, "timestamps": timestamps}).fetchall()}
        kept_records, kept_identities = [], []
        for (ts, data), identity in zip(job.records, identities, strict=True):
            if identity is None and ts is not None:
                if ts in known:
                    continue
                known.add(ts)
            kept_records.append((ts, data))
            kept_identities.append(identity)
        job.records = kept_records
        job.identities = kept_identities if job.identities is not None else None

    @staticmethod
    def _announce(announcements):
        events.announce([event for told, _ in announcements for event in told], any(queued for _, queued in announcements))


def _newest_per_key(readings):
    """The state rows the readings make: each (device, key)'s newest reading, already encoded."""
    newest = {}
    for reading in readings:
        held = newest.get((reading["device_id"], reading["key"]))
        if held is None or held["reported_ms"] <= reading["ts_ms"]:
            newest[(reading["device_id"], reading["key"])] = {
                "device_id": reading["device_id"],
                "key": reading["key"],
                "reported": reading["value"],
                "reported_ms": reading["ts_ms"],
            }
    return list(newest.values())


def _take_all(jobs, limit):
    """The next item, waiting for it, and whatever else is queued, up to `limit` in all."""
    taken = [jobs.get()]
    while len(taken) < limit:
        try:
            taken.append(jobs.get_nowait())
        except queue.Empty:
            break
    return taken


def _done_with(items_queue, items):
    for _ in items:
        items_queue.task_done()


def ingest_writer(app):
    return app.extensions["ingest_writer"]
