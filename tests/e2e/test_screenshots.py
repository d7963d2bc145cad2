"""The README's screenshots come from a real browser session (see tests/e2e/screenshots.py)."""
import pytest

from tests.e2e.screenshots import output_dir, take_screenshots

pytestmark = pytest.mark.live

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_screenshots_of_overview_and_device_page(page, live_server, tmp_path):
    paths = take_screenshots(page, live_server, output_dir(tmp_path))

    for path in paths:
        with open(path, "rb") as image:
            content = image.read()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 10_000
