"""Browser tests: Playwright drives Debian's Chromium against a real gunicorn + gevent server.

Chromium comes from apt (`make chromium`), never from `playwright install`.
"""
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
# Offline after 5 s of silence (the least a device may set), noticed by a sweep every second.
SERVER_SETTINGS = {"SERVE_VENDOR_ASSETS": "1", "PRESENCE_SWEEP_INTERVAL": "1"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def live_server(live_server_factory):
    return live_server_factory(**SERVER_SETTINGS)
