"""Commands (RPC): an owner sends a device `{method, params}` with a timeout; the device takes it and replies.

queued → delivered (the device received it: in a telemetry or poll answer
of our API, or a ThingsBoard `rpc` long-poll) → answered (its reply is
stored), or timed_out when the timeout passes first (the presence sweep
marks it, workers/background.py). Every change is announced on the device's
channel, so the device page shows it live and a waiting long-poll wakes.

Our own answers carry every command still waiting (delivered ones again
until answered: an answer may be lost on the way); the ThingsBoard poll
hands out each command once, as ThingsBoard does. Whether a device has
commands waiting is in the device directory, so the ingest writer looks
for them only where there are some.
"""
import orjson
from sqlalchemy import select, update

from webapp.core import sql, tokens
from webapp.core.clock import iso_ms, now_ms
from webapp.core.errors import Conflict, NotFound
from webapp.extensions import db
from webapp.models import Command
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel
from webapp.services import events
from webapp.services.directory import directory

WAITING = ("queued", "delivered")
LISTED = 50
COLUMNS = "id, device_id, method, params, status, result, created_ms, expires_ms, delivered_ms, answered_ms"
PENDING = f"SELECT {COLUMNS} FROM commands WHERE device_id IN :ids AND status IN ('queued', 'delivered') AND expires_ms > :now ORDER BY id"
MARK_DELIVERED = "UPDATE commands SET status = 'delivered', delivered_ms = :now WHERE id IN :ids AND status = 'queued'"


def send_command(device_id, method, params, timeout_s):
    """Queue a command for the device; it expires `timeout_s` seconds from now unless answered."""
    now = now_ms()
    command = Command(device_id=device_id, method=method, params=orjson.dumps(params).decode(), status="queued", created_ms=now, expires_ms=now + timeout_s * 1000)
    db.session.add(command)
    db.session.flush()
    events.emit(events.command_changed(describe(command)))
    directory().device_changed(device_id)
    return command


def device_commands(device_id, limit=LISTED):
    """The device's latest commands, newest first."""
    return db.session.scalars(select(Command).where(Command.device_id == device_id).order_by(Command.id.desc()).limit(limit)).all()


def device_command(device_id, command_id):
    command = db.session.get(Command, command_id) if tokens.is_row_id(command_id) else None
    if command is None or command.device_id != device_id:
        raise NotFound(f"No command {command_id} for this device.")
    return command


def deliver_waiting(connection, device_ids, now):
    """In the caller's transaction: {device_id: [command as the device gets it]} of every command waiting
    for those devices, with the events of those delivered now for the first time (queued → delivered)."""
    rows = sql.DriverCursor(connection).execute(PENDING, {"ids": sorted(set(device_ids)), "now": now}).fetchall()
    waiting, told, first_time = {}, [], []
    for row in rows:
        command = dict(zip(COLUMNS.split(", "), row, strict=True))
        waiting.setdefault(command["device_id"], []).append(for_device(command))
        if command["status"] == "queued":
            first_time.append(command["id"])
            told.append(events.command_changed(_described_row(command | {"status": "delivered", "delivered_ms": now})))
    if first_time:
        sql.DriverCursor(connection).execute(MARK_DELIVERED, {"ids": first_time, "now": now})
    return waiting, told


def waiting_for(device_id):
    """The commands waiting for one device, delivered through the request's session (a poll's answer)."""
    waiting, told = deliver_waiting(db.session.connection(), [device_id], now_ms())
    events.emit(*told)
    return waiting.get(device_id, [])


def take_next(device_id, timeout):
    """The oldest queued command for the device, marked delivered, waiting up to `timeout` seconds for one
    (a ThingsBoard `rpc` long-poll); None when none came, or at once when the worker begins to stop."""
    with current_broker().subscribe([device_channel(device_id)]) as subscription:
        deadline = now_ms() + timeout * 1000
        while True:
            command = _claim_oldest_queued(device_id)
            if command is not None:
                return command
            remaining_ms = deadline - now_ms()
            message = subscription.get(timeout=remaining_ms / 1000) if remaining_ms > 0 else None
            if message is None or message[1].get("type") == "shutdown":
                return None


def _claim_oldest_queued(device_id):
    now = now_ms()
    oldest = db.session.scalar(
        select(Command).where(Command.device_id == device_id, Command.status == "queued", Command.expires_ms > now).order_by(Command.id).limit(1)
    )
    if oldest is None:
        db.session.commit()
        return None
    claimed = db.session.execute(
        update(Command).where(Command.id == oldest.id, Command.status == "queued").values(status="delivered", delivered_ms=now).execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        # Another worker's poll took it between the two statements.
        db.session.commit()
        return None
    db.session.refresh(oldest)
    events.emit(events.command_changed(describe(oldest)))
    return for_device(describe(oldest))


def answer(device_id, command_id, result):
    """Store the device's reply to a command: Conflict once it is answered or timed out."""
    now = now_ms()
    command = device_command(device_id, command_id)
    answered = db.session.execute(
        update(Command)
        .where(Command.id == command.id, Command.status.in_(WAITING), Command.expires_ms > now)
        .values(status="answered", result=orjson.dumps(result).decode(), answered_ms=now, delivered_ms=command.delivered_ms or now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not answered:
        db.session.rollback()
        status = "timed out" if device_command(device_id, command_id).status != "answered" else "already answered"
        raise Conflict(f"Command {command_id} is {status}: a reply is no longer taken.")
    db.session.refresh(command)
    events.emit(events.command_changed(describe(command)))
    directory().device_changed(device_id)
    return command


def time_out_expired(now):
    """Mark timed out every command past its timeout still waiting; their ids (the presence sweep calls this)."""
    expired = db.session.execute(
        update(Command)
        .where(Command.status.in_(WAITING), Command.expires_ms <= now)
        .values(status="timed_out")
        .returning(*(getattr(Command, column) for column in COLUMNS.split(", ")))
        .execution_options(synchronize_session=False)
    ).all()
    described = [_described_row(dict(zip(COLUMNS.split(", "), row, strict=True))) for row in expired]
    events.emit(*(events.command_changed(command) for command in described))
    for device_id in {command["device_id"] for command in described}:
        directory().device_changed(device_id)
    return [command["id"] for command in described]


def describe(command):
    """A command as the owner sees it (schemas CommandOut's fields): from a models.Command."""
    return _described_row({column: getattr(command, column) for column in COLUMNS.split(", ")})


def for_device(command):
    """A command as the device gets it: id, method, params."""
    params = command["params"]
    return {"id": command["id"], "method": command["method"], "params": orjson.loads(params) if isinstance(params, str) else params}


def _described_row(row):
    return {
        "id": row["id"],
        "device_id": row["device_id"],
        "method": row["method"],
        "params": orjson.loads(row["params"]),
        "status": row["status"],
        "result": None if row["result"] is None else orjson.loads(row["result"]),
        "created_at": iso_ms(row["created_ms"]),
        "expires_at": iso_ms(row["expires_ms"]),
        "delivered_at": iso_ms(row["delivered_ms"]),
        "answered_at": iso_ms(row["answered_ms"]),
    }
