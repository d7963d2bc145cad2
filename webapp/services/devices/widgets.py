"""Dashboard widgets, and the control pins their switches drive.

A switch makes its key a control pin (the server owns its desired value,
starting from what the device last reported); when the last switch of a
key is removed or moved to another key, the key is an ordinary reported
key again. A new switch without a key gets the lowest virtual pin (v0, v1, …)
no widget of the device uses, as Blynk does.
"""
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.core import values
from webapp.core.clock import now_ms
from webapp.core.errors import InvalidRequest, NotFound
from webapp.extensions import db
from webapp.models import Widget
from webapp.services import events
from webapp.services.devices import registry as devices
from webapp.services.devices import state

SWITCH_ON, SWITCH_OFF = 1, 0
_VIRTUAL_PIN = re.compile(r"^v(\d+)$")


@dataclass(frozen=True, slots=True)
class WidgetInfo:
    """A widget as pages and live streams render it; holds no database session."""

    id: int
    device_id: str
    kind: str
    label: str
    key: str
    unit: str | None
    min_value: float | None
    max_value: float | None


def describe(widget):
    return WidgetInfo(
        widget.id, widget.device_id, widget.kind, widget.label, widget.key, widget.unit, widget.min_value, widget.max_value
    )


def widgets_by_device(device_ids):
    """Each device's widgets in their order: {device_id: [WidgetInfo, …]} (every id present)."""
    found = {device_id: [] for device_id in device_ids}
    if not found:
        return found
    query = select(Widget).where(Widget.device_id.in_(found)).order_by(Widget.position, Widget.id)
    for widget in db.session.scalars(query):
        found[widget.device_id].append(describe(widget))
    return found


def add_widget(user, device_id, spec):
    """Add a widget (a schemas.WidgetIn) to a device `user` may see, after its others."""
    device = devices.visible_device(user, device_id)
    position = db.session.scalar(select(func.coalesce(func.max(Widget.position), -1)).where(Widget.device_id == device.id)) + 1
    widget = Widget(
        device_id=device.id,
        kind=spec.kind,
        label=spec.label,
        key=spec.key or lowest_free_pin(device.id),
        position=position,
        unit=spec.unit or None,
        min_value=spec.min,
        max_value=spec.max,
        created_ms=now_ms(),
    )
    db.session.add(widget)
    db.session.flush()
    info = describe(widget)
    _sync_control_pins(device.id, released_key=None, driven_key=_switch_key(info))
    events.emit(events.widgets_changed(device.id))
    return info


def update_widget(user, device_id, widget_id, spec):
    """Replace a widget's settings; a switch left without a key keeps its pin."""
    widget = _visible_widget(user, widget_id, device_id)
    before = describe(widget)
    widget.kind, widget.label = spec.kind, spec.label
    widget.key = spec.key or (before.key if before.kind == "switch" else lowest_free_pin(widget.device_id))
    widget.unit, widget.min_value, widget.max_value = spec.unit or None, spec.min, spec.max
    db.session.flush()
    info = describe(widget)
    _sync_control_pins(info.device_id, released_key=_switch_key(before), driven_key=_switch_key(info))
    events.emit(events.widgets_changed(info.device_id))
    return info


def remove_widget(user, device_id, widget_id):
    widget = _visible_widget(user, widget_id, device_id)
    before = describe(widget)
    db.session.delete(widget)
    db.session.flush()
    _sync_control_pins(before.device_id, released_key=_switch_key(before), driven_key=None)
    events.emit(events.widgets_changed(before.device_id))
    return before


def set_switch(user, widget_id, on, device_id=None):
    """Set the desired value of a switch's pin (1 on, 0 off); the widget and the device's state after."""
    widget = describe(_visible_widget(user, widget_id, device_id))
    if widget.kind != "switch":
        raise InvalidRequest(f"Widget {widget_id} is a {widget.kind}, not a switch.")
    view = state.set_desired(widget.device_id, widget.key, SWITCH_ON if on else SWITCH_OFF)
    return widget, view


def find_widget(user, device_id, widget_id):
    return describe(_visible_widget(user, widget_id, device_id))


def lowest_free_pin(device_id):
    """The lowest virtual pin vN that no widget of the device uses."""
    used = set()
    for key in db.session.scalars(select(Widget.key).where(Widget.device_id == device_id)):
        match = _VIRTUAL_PIN.match(key)
        if match:
            used.add(int(match.group(1)))
    pin = 0
    while pin in used:
        pin += 1
    return f"v{pin}"


def is_on(value):
    """Whether a pin's value reads as on: any non-zero number or true."""
    number = values.numeric(value)
    return number is not None and number != 0


def _visible_widget(user, widget_id, device_id=None):
    widget = db.session.get(Widget, widget_id)
    if widget is None or (device_id is not None and widget.device_id != device_id):
        raise NotFound(f"No widget with id {widget_id}.")
    try:
        devices.visible_device(user, widget.device_id)
    except NotFound:
        # Another user's widget: not found either, and its device's id stays unsaid.
        raise NotFound(f"No widget with id {widget_id}.") from None
    return widget


def _switch_key(widget):
    return widget.key if widget.kind == "switch" else None


def _sync_control_pins(device_id, released_key, driven_key):
    """Release a key no switch drives any more and claim a newly driven one (each commits the widget change with it)."""
    if released_key is not None and released_key != driven_key and not _driven_by_a_switch(device_id, released_key):
        state.release_control(device_id, released_key)
    if driven_key is not None:
        view = state.read_state(device_id)
        if driven_key not in view.control:
            reported = view.reported.get(driven_key)
            state.set_desired(device_id, driven_key, SWITCH_ON if is_on(reported) else SWITCH_OFF)


def _driven_by_a_switch(device_id, key):
    return (
        db.session.scalar(
            select(func.count()).select_from(Widget).where(Widget.device_id == device_id, Widget.key == key, Widget.kind == "switch")
        )
        > 0
    )
