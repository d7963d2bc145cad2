"""Every form works without htmx: it has an action and a method, and a plain submission gets a page.

(In a browser with JavaScript off: tests/e2e/test_without_internet.py.)
"""
import re

from tests.dashboard.helpers import log_in

FORM_TAG = re.compile(r"<form\b[^>]*>")


class PlainBrowser:
    """A browser without htmx: forms post with the CSRF token in their fields and no HX-Request header."""

    def __init__(self, app, account):
        self.client = app.test_client()
        self.csrf = log_in(self.client, account.email)

    def get(self, path):
        return self.client.get(path)

    def post(self, path, **fields):
        return self.client.post(path, data={"csrf_token": self.csrf, **fields})


def test_every_form_of_every_page_has_an_action_and_a_method(app, make_user, make_device, client):
    admin = make_user(admin=True)
    device = make_device(owner=admin, name="Greenhouse")
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 0}})
    browser = PlainBrowser(app, admin)
    browser.post(f"/devices/{device.id}/widgets", kind="switch", label="Lamp")

    for path in ("/", f"/devices/{device.id}", "/notifications", "/admin"):
        forms = FORM_TAG.findall(browser.get(path).get_data(as_text=True))
        assert forms, path
        for form in forms:
            assert re.search(r'\smethod="post"', form) and re.search(r'\saction="/[^"]*"', form), f"{path}: {form}"


def test_adding_a_device_as_a_plain_form_shows_the_overview_with_its_token_once(app, make_user, client):
    browser = PlainBrowser(app, make_user())

    response = browser.post("/devices", name="Garden pump")

    html = response.get_data(as_text=True)
    device_id = re.search(r'id="new-device-id-([0-9a-f]{24})"', html).group(1)
    token = re.search(rf'<code id="new-device-token-{device_id}">([^<]+)</code>', html).group(1)
    assert response.status_code == 200 and "<h1>Devices</h1>" in html and f'id="card-{device_id}"' in html
    assert client.post(f"/devices/{device_id}/telemetry", json={"device_token": token, "data": {"v0": 1}}).status_code == 200
    assert token not in browser.get("/").get_data(as_text=True)


def test_widget_forms_as_plain_forms_lead_back_to_the_device_page(app, make_device, client):
    device = make_device()
    browser = PlainBrowser(app, device.owner)
    page = f"/devices/{device.id}"

    added = browser.post(f"{page}/widgets", kind="switch", label="Lamp")
    widget_id = re.search(r'id="widget-(\d+)"', browser.get(page).get_data(as_text=True)).group(1)
    edit_page = browser.get(f"{page}/widgets/{widget_id}/edit").get_data(as_text=True)
    toggled = browser.post(f"{page}/widgets/{widget_id}/toggle", value="1", editable="1")
    on_overview = browser.post(f"{page}/widgets/{widget_id}/toggle", value="0")
    edited = browser.post(f"{page}/widgets/{widget_id}", kind="switch", label="Porch lamp", key="v0")
    renamed = browser.get(page).get_data(as_text=True)
    removed = browser.post(f"{page}/widgets/{widget_id}/remove")

    assert [response.status_code for response in (added, toggled, edited, removed)] == [303] * 4
    assert [response.location for response in (added, toggled, edited, removed)] == [page] * 4
    assert on_overview.status_code == 303 and on_overview.location == "/"
    assert "<h1>Edit Lamp</h1>" in edit_page and f'action="{page}/widgets/{widget_id}"' in edit_page
    assert "Porch lamp" in renamed
    assert 'class="widget ' not in browser.get(page).get_data(as_text=True)


def test_a_plain_form_with_bad_input_gets_a_page_saying_why(app, make_device):
    device = make_device()
    browser = PlainBrowser(app, device.owner)

    response = browser.post(f"/devices/{device.id}/settings", offline_timeout="2")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<!DOCTYPE html>" in html and "offline_timeout" in html and "Back to your devices" in html


def test_alert_rules_are_added_and_removed_on_the_device_page(app, make_device, client, browser_for):
    device = make_device(name="Greenhouse")
    browser = browser_for(device.owner)

    added = browser.htmx("POST", f"/devices/{device.id}/alerts", data={"key": "temperature", "condition": ">", "value": "30", "for_seconds": "60"})
    same_by_form = PlainBrowser(app, device.owner).post(f"/devices/{device.id}/alerts", key="door", condition="=", value="open")
    refused = browser.htmx("POST", f"/devices/{device.id}/alerts", data={"key": "temperature", "condition": "outside", "low": "5"})
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"door": "open"}})
    page = browser.get(f"/devices/{device.id}").get_data(as_text=True)

    assert added.status_code == 200 and "<th scope=\"row\">temperature &gt; 30 for 60 s</th>" in added.get_data(as_text=True)
    assert same_by_form.status_code == 303 and same_by_form.location == f"/devices/{device.id}#alerts-title"
    assert refused.status_code == 400 and "needs low and high" in refused.get_data(as_text=True)
    assert "door = &#34;open&#34;" in page and 'alert-state-active">Active' in page
    # The device's raised alerts show on its card too.
    card = re.search(rf'<ul class="active-alerts" id="alerts-{device.id}".*?</ul>', browser.get("/").get_data(as_text=True), re.S).group(0)
    assert "door = &#34;open&#34;" in card and "temperature" not in card
    rule_id = re.search(r'id="alert-rule-(\d+)"', page).group(1)
    removed = browser.htmx("POST", f"/devices/{device.id}/alerts/{rule_id}/remove")
    assert removed.status_code == 200 and f'id="alert-rule-{rule_id}"' not in removed.get_data(as_text=True)
