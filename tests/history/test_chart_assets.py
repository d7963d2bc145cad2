"""The chart's browser files: uPlot pinned with SRI (script and stylesheet), and the chart module served.

Drawing it is tested in the browser: tests/e2e/test_history_chart.py.
"""
import os

import pytest

from webapp.http import vendor_assets


@pytest.mark.parametrize("name", ["uplot", "uplot-css"])
def test_the_fetched_uplot_files_match_their_pinned_integrity(app, name):
    asset = app.extensions["vendor_assets"][name]
    path = os.path.join(vendor_assets.VENDOR_DIR, vendor_assets.local_filename(name, asset))

    with open(path, "rb") as fetched:
        assert vendor_assets.subresource_integrity(fetched.read()) == asset["integrity"]


def test_the_uplot_files_come_from_this_server(app, client):
    with app.test_request_context():
        stylesheet = app.jinja_env.globals["vendor_stylesheet"]("uplot-css")
        script = app.jinja_env.globals["vendor_script"]("uplot")

    assert 'href="/static/vendor/uplot-css-1.6.32.css"' in stylesheet
    assert 'src="/static/vendor/uplot-1.6.32.js"' in script
    assert client.get("/static/vendor/uplot-1.6.32.js").status_code == 200


def test_from_the_cdn_the_uplot_stylesheet_tag_carries_its_integrity(make_app):
    cdn_app = make_app(SERVE_VENDOR_ASSETS=False)
    with cdn_app.test_request_context():
        tag = cdn_app.jinja_env.globals["vendor_stylesheet"]("uplot-css")

    asset = cdn_app.extensions["vendor_assets"]["uplot-css"]
    assert tag == (
        f'<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/uplot@{asset["version"]}/dist/uPlot.min.css" '
        f'integrity="{asset["integrity"]}" crossorigin="anonymous">'
    )


def test_the_chart_module_is_served(client):
    response = client.get("/static/js/history-chart.js")

    assert response.status_code == 200
    assert "window.HistoryChart" in response.get_data(as_text=True)
    response.close()
