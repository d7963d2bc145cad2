"""What the dashboard shows: device cards and pages, assembled from the other services.

Also what one open dashboard may follow live (`live_scope`): only the
devices its user may see, fixed when the stream opens.
"""
from dataclasses import dataclass

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import joinedload

from webapp.core import values
from webapp.core.errors import InvalidRequest, NotFound
from webapp.extensions import db
from webapp.models import Device, DeviceState, FirmwareImage, Reading, User
from webapp.pubsub.channels import device_channel, user_channel
from webapp.schemas import AlertEventOut, RuleOut
from webapp.services.alerts import rules as alerts
from webapp.services.devices import commands, health, rules, state, widgets
from webapp.services.devices import registry as devices
from webapp.services.devices.health import HealthView
from webapp.services.ota import images as ota_images
from webapp.services.ota import rollouts, updates

RECENT_READINGS = 20
RECENT_ALERTS = 10


@dataclass
class DeviceCard:
    device: object
    state: state.StateView
    widgets: list
    alerts: list  # the device's raised alerts (services.alerts.rules.AlertView)
    health: HealthView | None = None


@dataclass
class AlertPanel:
    """A device page's alerts: its rules with their state, and what was raised and cleared lately."""

    device_id: str
    rules: list
    history: list


@dataclass
class DevicePage:
    card: DeviceCard
    rules: list
    recent: list
    alerts: AlertPanel
    commands: list
    # Firmware updates: the device's, newest first (services/ota/updates.py describe), and the images the user may send.
    updates: list
    images: list


@dataclass
class AdminOverview:
    users: list  # [(User, number of devices), …]
    devices: list


@dataclass
class RolloutView:
    """A rollout as its card shows it: the image, each device's update (described) and the devices' names."""

    rollout: object
    image: object
    updates: list
    names: dict

    @property
    def booted(self):
        return sum(1 for update in self.updates if update["status"] == "booted")


@dataclass
class RolloutsPage:
    rollouts: list
    images: list
    devices: list


@dataclass(frozen=True)
class LiveScope:
    """The devices one live stream follows, and whether it serves a device page (with its state table) or the rollouts page."""

    user_id: int
    device_ids: tuple
    device_page: bool
    rollouts_page: bool = False

    @property
    def channels(self):
        return [user_channel(self.user_id), *(device_channel(device_id) for device_id in self.device_ids)]


def device_cards(user):
    """One card per device `user` may see (admins: every device)."""
    return _cards(devices.visible_devices(user))


def device_page(user, device_id):
    device = devices.visible_device(user, device_id)
    (card,) = _cards([device])
    described_rules = [RuleOut.of(rule) for rule in rules.device_rules(device.id)]
    return DevicePage(
        card, described_rules, recent_readings(device.id), alert_panel(device.id), device_commands(device.id), device_updates(device.id), ota_images.visible_images(user)
    )


def alert_panel(device_id):
    history = [AlertEventOut.of(event) for event in alerts.history_of(device_id, RECENT_ALERTS)]
    return AlertPanel(device_id, alerts.rules_of(device_id), history)


def active_alerts(device_id):
    return alerts.active_alerts([device_id])[device_id]


def device_commands(device_id):
    """The device's latest commands as the owner sees them, newest first."""
    return [commands.describe(command) for command in commands.device_commands(device_id)]


def device_updates(device_id):
    """The device's firmware updates as the owner sees them, newest first."""
    return [updates.describe(sent) for sent in updates.device_updates(device_id)]


def send_firmware(user, device_id, firmware_id):
    """Send an image `user` may see to a device they may see; the device's updates after it."""
    device = devices.visible_device(user, device_id)
    updates.assign(device.id, ota_images.visible_image(user, firmware_id))
    return device_updates(device.id)


def upload_and_send(user, device_id, stream, title, version):
    """Keep an uploaded image and send it to the device at once; the device's updates after it."""
    device = devices.visible_device(user, device_id)
    updates.assign(device.id, ota_images.store_image(user, stream, title, version))
    return device_updates(device.id)


def cancel_update(user, device_id):
    device = devices.visible_device(user, device_id)
    updates.cancel(device.id)
    return device_updates(device.id)


def send_command(user, device_id, spec):
    """Send a command (a CommandIn) to a device `user` may see; the device's latest commands after it."""
    device = devices.visible_device(user, device_id)
    commands.send_command(device.id, spec.method, spec.params, spec.timeout)
    return device_commands(device.id)


def device_card(user, device_id):
    (card,) = _cards([devices.visible_device(user, device_id)])
    return card


def register_device(user, name, offline_timeout=None):
    """A new device of `user`: its card and its token (shown once)."""
    device, token = devices.create_device(user, name, offline_timeout)
    (card,) = _cards([device])
    return card, token


def change_settings(user, device_id, changes):
    """Apply the settings given (PATCH semantics: what is left out stays as it is)."""
    return devices.update_device(devices.visible_device(user, device_id), changes)


def regenerate_token(user, device_id):
    """A new token for a device `user` may see (admins: any); the old one is refused from now on."""
    device = devices.visible_device(user, device_id)
    return device, devices.rotate_device_token(device)


def admin_overview():
    counts = dict(db.session.execute(select(Device.owner_id, func.count()).group_by(Device.owner_id)).all())
    users = db.session.scalars(select(User).order_by(User.email)).all()
    all_devices = db.session.scalars(select(Device).options(joinedload(Device.owner)).order_by(Device.name, Device.id)).all()
    return AdminOverview([(user, counts.get(user.id, 0)) for user in users], all_devices)


def live_cards(device_ids):
    """The cards of those devices that still exist: what a (re)connected live dashboard is sent first."""
    return _cards(db.session.scalars(select(Device).where(Device.id.in_(device_ids)).order_by(Device.name, Device.id)).all())


def live_scope(user, device_id=None, view=None):
    """What a live stream of `user` follows: one device (a device page) or every device they may see
    (the overview, or with `view` "rollouts" the rollouts page)."""
    if device_id:
        return LiveScope(user.id, (devices.visible_device(user, device_id).id,), device_page=True)
    visible = tuple(device.id for device in devices.visible_devices(user))
    return LiveScope(user.id, visible, device_page=False, rollouts_page=view == "rollouts")


def rollouts_page(user):
    return RolloutsPage(visible_rollouts(user), ota_images.visible_images(user), devices.visible_devices(user))


def visible_rollouts(user):
    return [rollout_view(rollout) for rollout in rollouts.visible_rollouts(user)]


def rollout_view(rollout):
    sent = rollouts.rollout_updates(rollout.id)
    names = dict(db.session.execute(select(Device.id, Device.name).where(Device.id.in_([update.device_id for update in sent]))).all())
    return RolloutView(rollout, db.session.get(FirmwareImage, rollout.firmware_id), [updates.describe(update) for update in sent], names)


def visible_rollout_view(user_id, rollout_id):
    """The card of a rollout the user may see, or None (a live stream's event of another's rollout)."""
    user = db.session.get(User, user_id)
    try:
        return rollout_view(rollouts.visible_rollout(user, rollout_id)) if user is not None else None
    except NotFound:
        return None


def start_rollout(user, firmware_id, device_ids, stage_percent):
    """Roll an image `user` may see out over `device_ids` (None: all of `user`'s own); every rollout's card after it."""
    if not 1 <= stage_percent <= 100:
        raise InvalidRequest("The first stage is a percentage of the devices: 1 to 100.")
    rollouts.start_rollout(user, ota_images.visible_image(user, firmware_id), device_ids, stage_percent)
    return visible_rollouts(user)


def move_rollout(user, rollout_id, status):
    return rollout_view(rollouts.move_rollout(rollouts.visible_rollout(user, rollout_id), status))


def recent_readings(device_id, limit=RECENT_READINGS):
    """The device's newest readings, newest first: [(key, ts_ms, value), …].

    Read as each key's newest (every key that has readings has a state row): history is keyed by
    (device, key, ts), so that is a short walk per key, where ordering all the device's readings by
    time would sort its whole history (70 ms for 100,000 readings, and growing with them).
    """
    keys = db.session.scalars(select(DeviceState.key).where(DeviceState.device_id == device_id)).all()
    if not keys:
        return []
    newest = [
        select(Reading.key, Reading.ts_ms, Reading.value).where(Reading.device_id == device_id, Reading.key == key).order_by(Reading.ts_ms.desc()).limit(limit).subquery()
        for key in keys
    ]
    rows = db.session.execute(union_all(*(select(per_key) for per_key in newest))).all()
    rows.sort(key=lambda row: (-row.ts_ms, row.key))
    return [(row.key, row.ts_ms, values.decode(row.value)) for row in rows[:limit]]


def _cards(found):
    """Cards of these devices, their widgets and states read for all at once."""
    ids = [device.id for device in found]
    by_device = widgets.widgets_by_device(ids)
    raised = alerts.active_alerts(ids)
    views = state.read_states(db.session.connection(), ids)
    reports = health.health_of(ids)
    return [
        DeviceCard(device, views.get(device.id) or state.StateView(device.id), by_device[device.id], raised[device.id], reports.get(device.id))
        for device in found
    ]
