"""Every `# expect <status>` example of the API guide, run with curl against a real server."""
import os
import re
import subprocess

import pytest

from tests.live_server import ROOT

GUIDE = os.path.join(ROOT, "docs", "ESP32_TELEMETRY_API_GUIDE.md")


def guide_examples():
    with open(GUIDE) as guide:
        blocks = re.findall(r"```sh\n# expect (\d{3})\n(.*?)```", guide.read(), re.S)
    return [(int(status), command.strip()) for status, command in blocks]


def test_the_guide_has_examples_of_each_device_endpoint():
    commands = " ".join(command for _, command in guide_examples())

    for path in ("/telemetry\"", "/telemetry/batch", "/telemetry/latest", "/health", "/pins/v0", "/rules"):
        assert path in commands, path
    assert {status for status, _ in guide_examples()} >= {200, 304, 400, 403, 404}


@pytest.fixture(scope="module")
def guide_env(live_server):
    device = live_server.create_device()
    return {
        **os.environ,
        "BASE": live_server.url,
        "DEVICE_ID": device["device_id"],
        "TOKEN": device["device_token"],
        "API_TOKEN": live_server.api_token(device["owner_email"]),
    }


@pytest.mark.parametrize("status, command", guide_examples(), ids=lambda value: str(value)[:60])
def test_guide_example_gives_the_documented_status(guide_env, status, command):
    result = subprocess.run(
        ["bash", "-c", command + " -o /dev/null -w '%{http_code}'"], env=guide_env, capture_output=True, text=True, timeout=30
    )

    assert result.stdout.strip().endswith(str(status)), (command, result.stdout, result.stderr)
