"""Where the internet is out of reach (a LAN install, a Raspberry Pi): every request that does not go to the
server is refused, and the dashboard works all the same; so it does without JavaScript, as plain forms."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, add_widget, log_in, wait_until_live
from tests.live_server import PASSWORD

pytestmark = pytest.mark.live


@pytest.fixture
def refused(page, live_server):
    """Every request of the page to anywhere but the server is refused; the URLs it tried."""
    tried = []

    def only_the_server(route):
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    return tried


def added_device(page):
    """The id and token the page shows once for the device just added."""
    result = page.locator("#new-device")
    expect(result.get_by_text("Device token", exact=True)).to_be_visible()
    return {"device_id": result.locator("code").first.inner_text(), "device_token": result.locator("code").nth(1).inner_text()}


def test_the_dashboard_goes_live_adds_a_device_and_toggles_a_switch_with_nothing_but_the_server(page, live_server, refused):
    email = live_server.create_user()

    log_in(page, live_server, email)  # waits for the badge to read Live
    page.get_by_label("Name").fill("Cellar pump")
    page.get_by_role("button", name="Add device").click()
    device = DeviceClient(live_server, added_device(page))
    page.get_by_role("article", name="Cellar pump").get_by_role("link", name="Cellar pump").click()
    wait_until_live(page)
    add_widget(page, "Switch", "Pump")
    page.get_by_role("switch", name="Pump").click()

    expect(page.locator(".switch-state")).to_have_text("On · pending")
    assert device.latest().json()["data"]["v0"] == 1
    assert refused == [], "the dashboard asked for something beyond the server"


def test_the_api_docs_and_the_icon_need_nothing_beyond_the_server(page, live_server, refused):
    icon = page.request.get(live_server.url + "/favicon.ico")
    page.goto(live_server.url + "/redoc")

    # Drawn from the server's own copy of ReDoc; its policy refuses nothing (the autouse check), only the
    # network does: Redocly's logo, which ReDoc then leaves out.
    expect(page.get_by_role("heading", name=re.compile("^ThingsNXT")).first).to_be_visible()
    assert refused in ([], ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
    assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert page.evaluate("() => document.querySelector('link[rel=icon]').href").endswith("/static/favicon.svg")


def test_without_javascript_every_form_works_as_a_plain_form(browser, live_server):
    email = live_server.create_user()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()

    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Name").fill("Shed light")
    page.get_by_role("button", name="Add device").click()
    device = DeviceClient(live_server, added_device(page))
    page.get_by_role("link", name="Shed light").first.click()
    page.locator("summary", has_text="Add a widget").click()
    page.get_by_label("Type").select_option(label="Switch")
    page.get_by_label("Label", exact=True).fill("Light")
    page.get_by_role("button", name="Add widget").click()
    page.get_by_role("switch", name="Light").click()

    expect(page).to_have_url(f"{live_server.url}/devices/{device.id}")
    expect(page.locator(".switch-state")).to_have_text("On · pending")
    assert device.latest().json()["data"]["v0"] == 1
    page.get_by_role("link", name="Edit Light").click()
    page.get_by_label("Label", exact=True).fill("Shed light switch")
    page.get_by_role("button", name="Save widget").click()
    expect(page.get_by_role("switch", name="Shed light switch")).to_be_visible()
    context.close()
