"""Widgets on the device page: add, edit, remove, and switches that drive control pins."""
import re

import pytest


def add_widget(browser, device, **fields):
    response = browser.htmx("POST", f"/devices/{device.id}/widgets", data=fields)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def widget_ids(html):
    return [int(found) for found in re.findall(r'<div class="widget widget-\w+" id="widget-(\d+)"', html)]


def latest(client, device):
    return client.get("/telemetry/latest", query_string={"device_token": device.token}).get_json()["data"]


def report(client, device, data):
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data}).status_code == 200


def switch_markup(html, widget_id):
    return re.search(rf'<div class="widget widget-switch" id="widget-{widget_id}".*?</form>', html, re.S).group(0)


def test_every_widget_kind_renders_with_its_value(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    report(client, device, {"temperature": 21.5, "humidity": 55, "v3": 1})
    add_widget(browser, device, kind="value", label="Temperature", key="temperature", unit="°C")
    add_widget(browser, device, kind="gauge", label="Humidity", key="humidity", min="0", max="100", unit="%")
    add_widget(browser, device, kind="led", label="Pump", key="v3")
    html = add_widget(browser, device, kind="chart", label="Temperature history", key="temperature")

    assert '<span class="widget-reading" aria-labelledby="widget-' in html and "21.5 °C" in html
    assert re.search(r'<meter min="0.0" max="100.0" value="55" aria-labelledby="widget-\d+-label"></meter>', html)
    assert 'role="img" aria-label="Pump: on"' in html
    chart = re.search(r'<div id="(history-chart-\d+)" data-history-chart data-device-id="(\w+)" data-key="(\w+)"', html)
    assert chart and chart.group(2, 3) == (device.id, "temperature")
    assert f'data-history-point="{chart.group(1)}" value=""></data>' in html


def test_a_new_switch_gets_the_lowest_free_virtual_pin(browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    add_widget(browser, device, kind="switch", label="Lamp")
    add_widget(browser, device, kind="led", label="Busy", key="v1")
    html = add_widget(browser, device, kind="switch", label="Fan")
    first, _, third = widget_ids(html)
    html = browser.htmx("DELETE", f"/devices/{device.id}/widgets/{first}").get_data(as_text=True)
    html = add_widget(browser, device, kind="switch", label="Heater")

    keys = dict(re.findall(r'id="widget-\d+-label">([^<]+)</span>\s*<span class="widget-key"[^>]*>([^<]+)</span>', html))
    assert keys == {"Busy": "v1", "Fan": "v2", "Heater": "v0"}


def test_a_switch_makes_its_pin_a_control_pin_starting_from_the_reported_value(client, browser_for, make_device):
    device = make_device()
    report(client, device, {"v5": 1})
    html = add_widget(browser_for(device.owner), device, kind="switch", label="Relay", key="v5")

    assert 'role="switch" aria-checked="true"' in html
    assert "· pending" not in html
    pins = client.get(f"/api/devices/{device.id}", headers=device.owner.headers).get_json()["data"]
    report(client, device, {"v5": 0})
    assert pins["v5"] == 1
    assert latest(client, device)["v5"] == 1, "a device report no longer overrides a control pin"


def test_toggling_a_switch_sets_the_desired_value_and_is_pending_until_reported(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="switch", label="Lamp"))

    toggled = browser.htmx("POST", f"/devices/{device.id}/widgets/{widget_id}/toggle", data={"widget_id": widget_id, "value": "1"})
    pending = switch_markup(toggled.get_data(as_text=True), widget_id)
    seen_by_device = latest(client, device)
    report(client, device, {"v0": 1})
    settled = switch_markup(browser.get(f"/devices/{device.id}").get_data(as_text=True), widget_id)

    assert toggled.status_code == 200
    assert 'aria-checked="true"' in pending and "On · pending" in pending and 'name="value" value="0"' in pending
    assert seen_by_device["v0"] == 1
    assert 'aria-checked="true"' in settled and "pending" not in settled


def test_switch_is_accessible_by_its_label(browser_for, make_device):
    device = make_device()
    html = add_widget(browser_for(device.owner), device, kind="switch", label="Porch light")
    (widget_id,) = widget_ids(html)

    assert f'<span class="widget-label" id="widget-{widget_id}-label">Porch light</span>' in html
    assert f'role="switch" aria-checked="false" aria-labelledby="widget-{widget_id}-label"' in html


def test_removing_the_last_switch_of_a_pin_gives_the_pin_back_to_the_device(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="switch", label="Lamp"))
    browser.htmx("POST", f"/devices/{device.id}/widgets/{widget_id}/toggle", data={"value": "1"})

    browser.htmx("DELETE", f"/devices/{device.id}/widgets/{widget_id}")
    report(client, device, {"v0": 0})

    assert latest(client, device)["v0"] == 0


def test_moving_a_switch_to_another_pin_releases_the_old_one(client, browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="switch", label="Lamp", key="v0"))
    browser.htmx("POST", f"/devices/{device.id}/widgets/{widget_id}/toggle", data={"value": "1"})

    edited = browser.htmx("PUT", f"/devices/{device.id}/widgets/{widget_id}", data={"kind": "switch", "label": "Lamp", "key": "v7"})
    report(client, device, {"v0": 0, "v7": 1})

    assert edited.status_code == 200
    assert 'id="widget-editor-' in edited.get_data(as_text=True)
    assert latest(client, device) == {"v0": 0, "v7": 0}


def test_edit_form_is_prefilled(browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="gauge", label="Tank", key="level", min="0", max="250", unit="l"))

    html = browser.htmx("GET", f"/devices/{device.id}/widgets/{widget_id}/edit").get_data(as_text=True)

    assert '<option value="gauge" selected>Gauge</option>' in html
    assert 'name="label" required maxlength="64" value="Tank"' in html
    assert 'value="level"' in html and 'value="250"' in html and 'value="l"' in html


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"kind": "value", "label": "No key"}, "key is required"),
        ({"kind": "gauge", "label": "Upside down", "key": "t", "min": "10", "max": "5"}, "min must be less than max"),
        ({"kind": "thermostat", "label": "Unknown", "key": "t"}, "kind"),
        ({"kind": "value", "label": "", "key": "t"}, "label"),
        ({"kind": "value", "label": "Bad key", "key": "9lives"}, "key"),
    ],
)
def test_bad_widget_input_is_a_400_with_the_reason_and_adds_nothing(browser_for, make_device, fields, message):
    device = make_device()
    browser = browser_for(device.owner)

    response = browser.htmx("POST", f"/devices/{device.id}/widgets", data=fields)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert widget_ids(browser.get(f"/devices/{device.id}").get_data(as_text=True)) == []


def test_only_switches_toggle(browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="value", label="Temperature", key="temperature"))

    response = browser.htmx("POST", f"/devices/{device.id}/widgets/{widget_id}/toggle", data={"value": "1"})

    assert response.status_code == 400 and "not a switch" in response.get_data(as_text=True)


def test_another_users_widgets_are_404_and_untouched(client, browser_for, make_user, make_device):
    device = make_device()
    owner = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(owner, device, kind="switch", label="Lamp"))
    intruder = browser_for(make_user())

    responses = [
        intruder.htmx("POST", f"/devices/{device.id}/widgets/{widget_id}/toggle", data={"value": "1"}),
        intruder.htmx("PUT", f"/devices/{device.id}/widgets/{widget_id}", data={"kind": "value", "label": "Mine", "key": "x"}),
        intruder.htmx("DELETE", f"/devices/{device.id}/widgets/{widget_id}"),
        intruder.htmx("POST", f"/devices/{device.id}/widgets", data={"kind": "switch", "label": "Mine"}),
        intruder.htmx("GET", f"/devices/{device.id}/widgets/{widget_id}/edit"),
    ]

    assert [response.status_code for response in responses] == [404] * 5
    assert latest(client, device)["v0"] == 0
    assert widget_ids(owner.get(f"/devices/{device.id}").get_data(as_text=True)) == [widget_id]


def test_a_widget_of_one_device_is_not_reachable_through_another(browser_for, make_user, make_device):
    owner = make_user()
    first, second = make_device(owner=owner), make_device(owner=owner)
    browser = browser_for(owner)
    (widget_id,) = widget_ids(add_widget(browser, first, kind="switch", label="Lamp"))

    response = browser.htmx("POST", f"/devices/{second.id}/widgets/{widget_id}/toggle", data={"value": "1"})

    assert response.status_code == 404


def test_a_toggled_switch_comes_back_as_it_was_shown_on_the_overview_or_the_device_page(browser_for, make_device):
    device = make_device()
    browser = browser_for(device.owner)
    (widget_id,) = widget_ids(add_widget(browser, device, kind="switch", label="Lamp"))
    toggle = f"/devices/{device.id}/widgets/{widget_id}/toggle"

    on_overview = browser.htmx("POST", toggle, data={"value": "1"}).get_data(as_text=True)
    on_device_page = browser.htmx("POST", toggle, data={"value": "0", "editable": "1"}).get_data(as_text=True)

    assert 'name="editable"' not in browser.get("/").get_data(as_text=True)
    assert "Remove" not in on_overview and 'aria-checked="true"' in on_overview
    assert "Remove" in on_device_page and 'name="editable" value="1"' in on_device_page
