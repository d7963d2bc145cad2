"""A line-chart widget's markup and its live readings: what static/js/history-chart.js reads (drawing: tests/e2e)."""
import re

import pytest

from webapp.dashboard import view_models as dashboard
from webapp.extensions import db
from webapp.models import User

CHART = re.compile(r'<div id="(history-chart-(\d+))" data-history-chart [^>]*data-window="(\w+)"')
TIMESTAMP = "2026-11-27T10:00:05.000Z"


def save_chart(browser, device, **fields):
    """Add a chart widget; the grid's chart elements as {widget id: chart element id}."""
    fields = {"kind": "chart", "label": "Temperature", "key": "temperature", **fields}
    response = browser.htmx("POST", f"/devices/{device.id}/widgets", data=fields)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {int(widget): element_id for element_id, widget, _ in CHART.findall(response.get_data(as_text=True))}


def live_fragment(app, device, changed, source="device", device_page=True):
    """What a dashboard's WebSocket is sent for a state event of the device."""
    # Imported once the app exists: webapp.dashboard imported first runs into an import cycle (auth → api → auth).
    from webapp.dashboard.live import LiveView

    event = {"type": "state", "device_id": device.id, "source": source, "changed": changed, "data": changed, "pending": [], "timestamp": TIMESTAMP}
    with app.test_request_context():
        user = db.session.get(User, device.owner.id)
        scope = dashboard.live_scope(user, device.id if device_page else None)
        return LiveView(scope).render(event)


@pytest.mark.parametrize(
    "value, as_json",
    [(21.5, "21.5"), (3, "3"), (True, "true"), ("it's <off>", r'"it\u0027s \u003coff\u003e"')],
)
def test_a_reading_goes_to_the_chart_with_its_time_and_its_value_as_json(app, browser_for, make_device, value, as_json):
    device = make_device()
    ((widget_id, chart_id),) = save_chart(browser_for(device.owner), device).items()

    html = live_fragment(app, device, {"temperature": value})

    assert f"<data hidden id=\"chart-point-{widget_id}\" data-history-point=\"{chart_id}\" data-ts=\"{TIMESTAMP}\" value='{as_json}' hx-swap-oob=\"true\"></data>" in html


def test_the_overview_gets_the_same_point_and_a_compact_chart_fitted_to_the_data(app, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    ((widget_id, chart_id),) = save_chart(browser, device).items()

    overview = browser.get("/").get_data(as_text=True)
    html = live_fragment(app, device, {"temperature": 20}, device_page=False)

    assert re.search(rf'<div id="{chart_id}" data-history-chart [^>]*data-window="fit" data-compact ', overview)
    assert f'data-history-point="{chart_id}" data-ts="{TIMESTAMP}"' in html
    device_page = browser.get(f"/devices/{device.id}").get_data(as_text=True)
    assert CHART.search(device_page).group(3) == "fit" and "data-compact" not in device_page


def test_a_desired_value_is_no_reading_and_sets_no_point(app, browser_for, make_device):
    device = make_device()
    save_chart(browser_for(device.owner), device, key="v0")

    html = live_fragment(app, device, {"v0": 1}, source="desired")

    assert "chart-point-" not in html
