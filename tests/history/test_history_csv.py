"""format=csv: a streamed attachment of every reading (or bucket) in the window."""
import csv
import io

from tests.history.conftest import T0, history_url
from webapp.extensions import db

MINUTE_MS = 60_000


def rows_of(body):
    return list(csv.reader(io.StringIO(body.decode())))


def test_csv_is_an_attachment_with_a_header_and_one_row_per_reading(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "temperature", [(T0, 21.5), (T0 + 10_000, 22), (T0 + 20_000, True)])

    response = client.get(
        history_url(device.id, key="temperature", from_="2026-11-27T10:00:00Z", to="2026-11-27T11:00:00Z", format="csv"),
        headers=device.owner.headers,
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{device.id}-temperature-20261127T100000Z-20261127T110000Z.csv"'
    )
    assert rows_of(response.data) == [
        ["timestamp", "key", "value"],
        ["2026-11-27T10:00:00.000Z", "temperature", "21.5"],
        ["2026-11-27T10:00:10.000Z", "temperature", "22"],
        ["2026-11-27T10:00:20.000Z", "temperature", "true"],
    ]


def test_string_values_are_escaped_and_formulas_defused(client, make_device, add_readings):
    device = make_device()
    tricky = ['a,b', 'say "hi"', "two\nlines", "=HYPERLINK(\"http://evil\")", "+1", "-2", "@cmd", "plain"]
    add_readings(device.id, "msg", [(T0 + i * 1000, text) for i, text in enumerate(tricky)])

    response = client.get(
        history_url(device.id, key="msg", from_=T0 // 1000, to=T0 // 1000 + 60, format="csv"), headers=device.owner.headers
    )

    values = [row[2] for row in rows_of(response.data)[1:]]
    assert values == ['a,b', 'say "hi"', "two\nlines", "'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@cmd", "plain"]
    assert b'"say ""hi"""' in response.data


def test_csv_streams_every_reading_in_pages_beyond_the_json_limits(app, client, make_device, add_readings, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_EXPORT_CHUNK", 1000)
    monkeypatch.setitem(app.config, "HISTORY_MAX_POINTS", 100)
    device = make_device()
    count = 12_345
    add_readings(device.id, "t", [(T0 + i * 1000, i) for i in range(count)])

    response = client.get(
        history_url(device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + count, format="csv"), headers=device.owner.headers
    )

    assert response.is_streamed
    rows = rows_of(response.data)
    assert rows[0] == ["timestamp", "key", "value"]
    assert [int(row[2]) for row in rows[1:]] == list(range(count))  # in order, none lost or repeated at page edges


def test_a_paused_download_holds_no_database_connection(app, client, make_device, add_readings, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_EXPORT_CHUNK", 100)
    device = make_device()
    add_readings(device.id, "t", [(T0 + i * 1000, i) for i in range(350)])

    response = client.get(
        history_url(device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 3600, format="csv"), headers=device.owner.headers
    )
    pages = iter(response.response)
    received = [next(pages), next(pages)]  # the header, then the first page of readings

    # Between pages the download is paused on the client; SQLite has one connection per process.
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
    ingested = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"other": -1}})
    assert ingested.status_code == 200

    received.extend(pages)
    rows = rows_of(b"".join(received))
    assert len(received) == 1 + 4
    assert [int(row[2]) for row in rows[1:]] == list(range(350))


def test_bucketed_csv_has_one_row_per_bucket(app, client, make_device, add_readings, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_EXPORT_CHUNK", 2)  # buckets per page: pages end mid-window
    device = make_device()
    add_readings(device.id, "t", [(T0, 1), (T0 + 30_000, 3), (T0 + 2 * MINUTE_MS, "off"), (T0 + 4 * MINUTE_MS + 1, 10.5)])

    response = client.get(
        history_url(device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 600, bucket="1m", format="csv"),
        headers=device.owner.headers,
    )

    assert rows_of(response.data) == [
        ["bucket_start", "key", "count", "min", "max", "avg", "last"],
        ["2026-11-27T10:00:00.000Z", "t", "2", "1.0", "3.0", "2.0", "3"],
        ["2026-11-27T10:02:00.000Z", "t", "1", "", "", "", "off"],
        ["2026-11-27T10:04:00.000Z", "t", "1", "10.5", "10.5", "10.5", "10.5"],
    ]


def test_bad_parameters_with_format_csv_are_a_json_400(client, make_device):
    device = make_device()

    response = client.get(history_url(device.id, key="t", from_="soon", format="csv"), headers=device.owner.headers)

    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_the_download_link_helper_points_at_the_csv_export(app, client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0, 5)])
    with app.test_request_context():
        link = app.jinja_env.globals["history_csv_url"](device.id, "t", start="2026-11-27T10:00:00+01:00", end=T0 // 1000 + 60)

    response = client.get(link, headers=device.owner.headers)

    assert link.startswith(f"/api/devices/{device.id}/history?")
    assert "%2B01:00" in link  # the offset's + survives the query string
    assert rows_of(response.data)[1] == ["2026-11-27T10:00:00.000Z", "t", "5"]
