"""htmx and its extensions: pinned, loaded with Subresource Integrity, from the CDN or from this server."""
import os
import re

import pytest

from tests.dashboard.helpers import log_in
from webapp.http import vendor_assets

# What the devices overview loads: htmx and its extensions, and uPlot for line charts.
PAGE_SCRIPTS = ("htmx", "htmx-sse", "htmx-ws", "uplot")
SCRIPT_TAG = re.compile(r'<script src="([^"]+)" integrity="([^"]+)" crossorigin="anonymous"></script>')


@pytest.mark.parametrize("name", sorted(vendor_assets.manifest()))
def test_pinned_file_on_disk_matches_its_integrity_hash(name):
    asset = vendor_assets.manifest()[name]
    path = os.path.join(vendor_assets.VENDOR_DIR, vendor_assets.local_filename(name, asset))
    assert os.path.exists(path), f"{path} is missing: `make setup` fetches it"

    with open(path, "rb") as pinned:
        assert vendor_assets.subresource_integrity(pinned.read()) == asset["integrity"]


def rendered_scripts(client, make_user):
    log_in(client, make_user().email)
    return dict(SCRIPT_TAG.findall(client.get("/").get_data(as_text=True)))


def test_pages_load_htmx_and_extensions_from_the_cdn_with_integrity_by_default(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "SERVE_VENDOR_ASSETS", False)
    scripts = rendered_scripts(client, make_user)

    pinned = vendor_assets.manifest()
    expected = {vendor_assets.cdn_url(pinned[name]): pinned[name]["integrity"] for name in PAGE_SCRIPTS}
    assert scripts == expected
    assert "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js" in scripts


def test_served_locally_the_same_pinned_files_are_used(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "SERVE_VENDOR_ASSETS", True)
    scripts = rendered_scripts(client, make_user)

    assert len(scripts) == len(PAGE_SCRIPTS)
    for src, integrity in scripts.items():
        assert src.startswith("/static/vendor/")
        served = client.get(src)
        assert served.status_code == 200
        assert vendor_assets.subresource_integrity(served.data) == integrity


def test_pages_have_no_inline_script(client, make_device):
    device = make_device()
    pages = [client.get("/login").get_data(as_text=True)]
    log_in(client, device.owner.email)
    pages += [client.get(path).get_data(as_text=True) for path in ("/", f"/devices/{device.id}", "/notifications")]
    for html in pages:
        path = re.search(r"<title>([^<]+)</title>", html).group(1)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{path} has an inline <script>"
        assert not re.search(r"\son[a-z]+=", html), f"{path} has an inline event handler"
