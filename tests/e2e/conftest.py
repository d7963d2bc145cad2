"""Browser tests: Playwright drives Debian's Chromium against a real gunicorn + gevent server.

Chromium comes from apt (`make chromium`), never from `playwright install`.
"""
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
# Offline after 5 s of silence (the least a device may set), noticed by a sweep every second. Browser
# assets come from the server itself, as by default: no test needs the internet.
SERVER_SETTINGS = {"PRESENCE_SWEEP_INTERVAL": "1"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def live_server(live_server_factory):
    return live_server_factory(**SERVER_SETTINGS)


@pytest.fixture(autouse=True)
def no_script_errors_nor_policy_violations(request):
    """Every page of every browser test runs without an uncaught script error or a Content-Security-Policy refusal.

    (Failed loads are not counted: some tests make them on purpose, a 404 or a refused WebSocket.)
    """
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None)
    yield
    assert problems == []
