"""The README's screenshots: what a newcomer sees after `make run`, taken in the browser tests' own browser.

The demo as seed-demo makes it, fed by its simulated device: the devices overview and the demo device's
page, on a desktop (1280 px wide, the whole page) and a phone (390 px, the first screen), each in the
light and the dark theme. `UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/e2e/test_first_run.py -k
screenshots` rewrites the committed PNGs under docs/screenshots/; without it they go to a temporary directory.
"""
import os
import re

from playwright.sync_api import expect

from tests.e2e.helpers import log_in

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED = os.path.join(ROOT, "docs", "screenshots")
SCREENS = {"desktop": ({"width": 1280, "height": 860}, True), "phone": ({"width": 390, "height": 844}, False)}
THEMES = ("light", "dark")


def output_dir(tmp_path):
    return COMMITTED if os.environ.get("UPDATE_SCREENSHOTS") else str(tmp_path)


def take_screenshots(page, server, email, password, device_id, out_dir):
    """overview-<screen>-<theme>.png and device-<screen>-<theme>.png in `out_dir`; their paths."""
    os.makedirs(out_dir, exist_ok=True)
    log_in(page, server, email, password)
    paths = []
    for screen, (viewport, full_page) in SCREENS.items():
        page.set_viewport_size(viewport)
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            for name, path in (("overview", "/"), ("device", f"/devices/{device_id}")):
                page.goto(server.url + path)
                expect(page.locator("#live-status")).to_have_text("Live")
                expect(page.locator(f"#status-{device_id}")).to_have_text("Online")
                expect(page.locator("[data-history-chart]").first).to_have_attribute("data-points", re.compile(r"^[1-9]"))
                # Out of the way of every hover style; relative times read "just now", not a moving count.
                page.mouse.move(0, 0)
                paths.append(os.path.join(out_dir, f"{name}-{screen}-{theme}.png"))
                page.screenshot(path=paths[-1], full_page=full_page)
    return paths
