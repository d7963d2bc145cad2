"""htmx, its extensions and uPlot: pinned, loaded with Subresource Integrity, from this server by default or from the CDN.

That the dashboard works with every request beyond the server refused: tests/e2e/test_without_internet.py.
"""
import os
import re
import shutil

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


def overview(app, email):
    client = app.test_client()
    log_in(client, email)
    return client.get("/")


def policy_sources(response, directive):
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return policy[directive].split()


def test_by_default_this_server_serves_the_pinned_files_and_the_policy_allows_no_cdn(app, client, make_user):
    response = overview(app, make_user().email)
    scripts = dict(SCRIPT_TAG.findall(response.get_data(as_text=True)))

    assert len(scripts) == len(PAGE_SCRIPTS)
    for src, integrity in scripts.items():
        assert src.startswith("/static/vendor/")
        served = client.get(src)
        assert served.status_code == 200
        assert vendor_assets.subresource_integrity(served.data) == integrity
    assert policy_sources(response, "script-src") == ["'self'"]
    assert policy_sources(response, "style-src") == ["'self'"]


def test_from_the_cdn_the_policy_allows_exactly_the_files_the_pages_load(make_app, make_user):
    response = overview(make_app(SERVE_VENDOR_ASSETS=False), make_user().email)
    scripts = dict(SCRIPT_TAG.findall(response.get_data(as_text=True)))

    pinned = vendor_assets.manifest()
    assert scripts == {vendor_assets.cdn_url(pinned[name]): pinned[name]["integrity"] for name in PAGE_SCRIPTS}
    assert "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js" in scripts
    assert sorted(policy_sources(response, "script-src")) == sorted(["'self'", *scripts])
    assert policy_sources(response, "style-src") == ["'self'", vendor_assets.cdn_url(pinned["uplot-css"])]


def test_an_asset_missing_here_comes_from_the_cdn_and_a_warning_says_how_to_fetch_it(make_app, make_user, monkeypatch, tmp_path, capsys):
    htmx = vendor_assets.local_filename("htmx", vendor_assets.manifest()["htmx"])
    shutil.copy(os.path.join(vendor_assets.VENDOR_DIR, htmx), tmp_path / htmx)
    monkeypatch.setattr(vendor_assets, "VENDOR_DIR", str(tmp_path))

    response = overview(make_app(), make_user().email)

    sources = [src for src, _ in SCRIPT_TAG.findall(response.get_data(as_text=True))]
    assert sources[0] == f"/static/vendor/{htmx}"
    assert all(src.startswith(vendor_assets.CDN) for src in sources[1:])
    assert sorted(policy_sources(response, "script-src")) == sorted(["'self'", *sources[1:]])
    warning = capsys.readouterr().err
    assert "make setup" in warning and "htmx-sse" in warning


def test_pages_have_no_inline_script(client, make_device):
    device = make_device()
    pages = [client.get("/login").get_data(as_text=True)]
    log_in(client, device.owner.email)
    pages += [client.get(path).get_data(as_text=True) for path in ("/", f"/devices/{device.id}", "/notifications")]
    for html in pages:
        path = re.search(r"<title>([^<]+)</title>", html).group(1)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{path} has an inline <script>"
        assert not re.search(r"\son[a-z]+=", html), f"{path} has an inline event handler"
