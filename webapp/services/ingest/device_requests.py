"""Device requests beyond readings: commands (take the next, reply), attributes (the state as a device asks
for it, changes of its control pins), the server's time, firmware updates (download, report); each admitted
like any device request."""
import functools

from webapp.core.clock import now_ms
from webapp.core.errors import ApiError, Conflict, InvalidRequest, shown
from webapp.extensions import db
from webapp.services.devices import commands, desired_changes, presence
from webapp.services.ingest.telemetry import admit_device, record_poll, submit_poll, with_offer
from webapp.services.ota import images, updates

# Device-side RPC methods the server answers itself (ThingsBoard's `POST …/rpc`): the time, for devices without a clock.
SERVER_METHODS = ("getCurrentTime", "getTime")


def reply(token, device_id, command_id, result, source_ip):
    """Store a device's reply to one of its commands (device_id None: the token alone names the device)."""
    device = admit_device(token, device_id, [], source_ip)
    return commands.answer(device.id, command_id, result)


def next_command(token, source_ip, timeout):
    """The next command for the device, waiting up to `timeout` seconds (None when none came); the poll marks it seen."""
    return commands.take_next(record_poll(token, source_ip).device_id, timeout)


def attributes(token, source_ip):
    """The device's state (a poll: it marks the device seen) with the update on offer; the control pins count as told (desired_changes)."""
    view = record_poll(token, source_ip).view
    desired_changes.tell(view.device_id, view.control)
    return with_offer(view)


def attribute_updates(token, source_ip, timeout):
    """Changes of the device's control pins since it was told them: ({pin: value}, [released pins]), or None
    when none came within `timeout` seconds."""
    return desired_changes.wait_for_changes(record_poll(token, source_ip).device_id, timeout)


def server_method(token, source_ip, method):
    """The answer to a device's own RPC request: the time in Unix milliseconds for getCurrentTime (or getTime)."""
    record_poll(token, source_ip)
    if method not in SERVER_METHODS:
        raise InvalidRequest(f"The server answers no RPC method '{shown(method)}': it answers {' and '.join(SERVER_METHODS)}.")
    return now_ms()


def firmware_download(token, device_id, sha256, source_ip):
    """(image, read(start, length) → chunks) of the image the device is being sent under `sha256`; NotFound for any other.
    Chunks count against their own limit: an image is many of them, and the device's other requests go on meanwhile."""
    device = admit_device(token, device_id, [], source_ip, limit="RATELIMIT_FIRMWARE")
    return _readable(updates.downloadable(device.id, sha256))


def firmware_by_version(token, title, version, source_ip):
    """Likewise, the image named by title and version (ThingsBoard's firmware request; the token alone names the device)."""
    device = admit_device(token, None, [], source_ip, limit="RATELIMIT_FIRMWARE")
    return _readable(updates.downloadable_version(device.id, title, version))


def _readable(image):
    # The bytes are read while they are sent: end the transaction first (SQLite's writer needs the connection).
    db.session.commit()
    return image, functools.partial(images.read_range, image.sha256)


def ota_report(token, device_id, state, received, version, reason, source_ip):
    """A device's report on its update in progress (services/ota/updates.py `report`); the update after it."""
    device = admit_device(token, device_id, [], source_ip)
    try:
        return updates.report(device.id, state, received, version, reason)
    except ApiError:
        # A refusal ends what the report read too: the MQTT transport goes on to wait for readings it queued before
        # this report, and the ingest writer storing them needs the connection (SQLite has one).
        db.session.rollback()
        raise


def follow_firmware_state(token, state, received, version, reason, source_ip):
    """A report that came as a reading (ThingsBoard's fw_state): applied to the update in progress when it fits
    it; otherwise the reading alone stands, as on ThingsBoard. The update after it, or None."""
    device = admit_device(token, None, [], source_ip)
    try:
        return updates.report(device.id, state, received, version, reason)
    except Conflict:
        db.session.rollback()
        return None


def broker_session(login, connected):
    """A device said over MQTT that it connected (`online` on its status topic) or its last will that it is gone
    (`offline`): it is marked online (like any request, seen over MQTT: the poll's queued Job, whose `outcome()`
    waits for its commit) or offline at once (None)."""
    if connected:
        return submit_poll(login, None)
    presence.mark_offline(login.device_id, now_ms())
    return None
