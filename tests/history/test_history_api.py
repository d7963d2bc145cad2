"""GET /api/devices/{id}/history: raw points, time buckets, windows, time zones, limits, authorization."""
import pytest

from tests.dashboard.helpers import log_in
from tests.history.conftest import DAY_MS, HOUR_MS, T0, history_url
from webapp.core.clock import now_ms

MINUTE_MS = 60_000
T0_ISO = "2026-11-27T10:00:00.000Z"


def get(client, account, device_id, **params):
    return client.get(history_url(device_id, **params), headers=account.headers)


# Raw points


def test_readings_posted_by_a_device_come_back_as_raw_points_with_their_types(client, make_device):
    device = make_device()
    batch = [
        {"ts": (T0 + 1000) / 1000, "data": {"v0": 1}},
        {"ts": (T0 + 2000) / 1000, "data": {"v0": 1.0}},
        {"ts": (T0 + 3000) / 1000, "data": {"v0": True}},
        {"ts": (T0 + 4000) / 1000, "data": {"v0": "1"}},
    ]
    posted = client.post(f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token, "records": batch})
    assert posted.status_code == 200, posted.json

    response = get(client, device.owner, device.id, key="v0", from_=T0 // 1000, to=(T0 + MINUTE_MS) // 1000)

    assert response.status_code == 200, response.json
    assert response.json["bucket"] is None
    assert response.json["from"] == T0_ISO
    assert response.json["to"] == "2026-11-27T10:01:00.000Z"
    points = response.json["points"]
    assert [p["t"] for p in points] == [f"2026-11-27T10:00:0{s}.000Z" for s in (1, 2, 3, 4)]
    values = [p["value"] for p in points]
    assert values == [1, 1.0, True, "1"]
    assert [type(v) for v in values] == [int, float, bool, str]


def test_the_window_includes_from_and_excludes_to(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 - 1, 1), (T0, 2), (T0 + MINUTE_MS - 1, 3), (T0 + MINUTE_MS, 4)])

    response = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=(T0 + MINUTE_MS) // 1000)

    assert [p["value"] for p in response.json["points"]] == [2, 3]


def test_the_default_window_is_the_last_24_hours(client, make_device, add_readings):
    device = make_device()
    now = now_ms()
    add_readings(device.id, "t", [(now - DAY_MS - HOUR_MS, "too old"), (now - HOUR_MS, "recent")])

    response = get(client, device.owner, device.id, key="t")
    from_an_empty_form = get(client, device.owner, device.id, key="t", from_="", to="", bucket="")

    assert response.status_code == 200
    assert [p["value"] for p in response.json["points"]] == ["recent"]
    assert from_an_empty_form.json["points"] == response.json["points"]


def test_only_the_asked_key_is_returned(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0, 20.5)])
    add_readings(device.id, "h", [(T0, 55)])

    response = get(client, device.owner, device.id, key="h", from_=T0 // 1000, to=T0 // 1000 + 60)

    assert response.json["key"] == "h"
    assert [p["value"] for p in response.json["points"]] == [55]


def test_too_many_raw_points_is_400_with_a_suggested_bucket(client, make_device, add_readings, app, monkeypatch):
    monkeypatch.setitem(app.config, "HISTORY_MAX_POINTS", 5)
    device = make_device()
    add_readings(device.id, "t", [(T0 + i * 1000, i) for i in range(6)])

    too_many = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 3600)
    at_limit = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 5)

    assert too_many.status_code == 400
    assert too_many.json["error"] == "too_many_points"
    assert "format=csv" in too_many.json["message"]
    assert too_many.json["suggested_bucket"] == "5s"  # 720 buckets over the hour, within HISTORY_MAX_BUCKETS
    assert at_limit.status_code == 200
    assert len(at_limit.json["points"]) == 5


# Buckets


def test_buckets_carry_min_max_avg_count_and_last(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 + 5_000, 20.0), (T0 + 15_000, 26.0), (T0 + 25_000, 23.0), (T0 + MINUTE_MS + 1_000, 30)])

    response = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 120, bucket="1m")

    assert response.status_code == 200, response.json
    assert response.json["bucket"] == 60
    assert response.json["buckets"] == [
        {"t": T0_ISO, "count": 3, "min": 20.0, "max": 26.0, "avg": pytest.approx(23.0), "last": 23.0},
        {"t": "2026-11-27T10:01:00.000Z", "count": 1, "min": 30.0, "max": 30.0, "avg": 30.0, "last": 30},
    ]


def test_a_reading_exactly_on_a_boundary_starts_the_next_bucket(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 + MINUTE_MS - 1, 1), (T0 + MINUTE_MS, 2)])

    response = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 120, bucket="60")

    buckets = response.json["buckets"]
    assert [(b["t"], b["count"], b["last"]) for b in buckets] == [
        (T0_ISO, 1, 1),
        ("2026-11-27T10:01:00.000Z", 1, 2),
    ]


def test_empty_buckets_are_omitted(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0, 1), (T0 + 3 * MINUTE_MS, 2)])

    response = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 300, bucket="1m")

    assert [b["t"] for b in response.json["buckets"]] == [T0_ISO, "2026-11-27T10:03:00.000Z"]


def test_buckets_align_to_the_epoch_not_to_from(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 + 10 * MINUTE_MS, 1), (T0 + 50 * MINUTE_MS, 2)])

    response = get(client, device.owner, device.id, key="t", from_=(T0 + 5 * MINUTE_MS) // 1000, to=(T0 + 2 * HOUR_MS) // 1000, bucket="1h")

    assert [(b["t"], b["count"]) for b in response.json["buckets"]] == [(T0_ISO, 2)]


def test_strings_are_counted_in_buckets_with_their_last_value(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "mode", [(T0 + 1000, "auto"), (T0 + 2000, "manual")])
    add_readings(device.id, "mixed", [(T0 + 1000, 4), (T0 + 2000, "error"), (T0 + 3000, True)])

    strings = get(client, device.owner, device.id, key="mode", from_=T0 // 1000, to=T0 // 1000 + 60, bucket="1m")
    mixed = get(client, device.owner, device.id, key="mixed", from_=T0 // 1000, to=T0 // 1000 + 60, bucket="1m")

    assert strings.json["buckets"] == [{"t": T0_ISO, "count": 2, "min": None, "max": None, "avg": None, "last": "manual"}]
    assert mixed.json["buckets"] == [{"t": T0_ISO, "count": 3, "min": 1.0, "max": 4.0, "avg": 2.5, "last": True}]


@pytest.mark.parametrize("bucket, seconds", [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1w", 604800), ("300", 300)])
def test_bucket_widths(client, make_device, bucket, seconds):
    device = make_device()

    response = get(client, device.owner, device.id, key="t", from_=T0 // 1000, to=T0 // 1000 + 3600, bucket=bucket)

    assert response.status_code == 200
    assert response.json["bucket"] == seconds


def test_too_many_buckets_is_400_and_the_suggested_bucket_fits(client, make_device):
    device = make_device()
    week = {"from_": T0 // 1000, "to": (T0 + 7 * DAY_MS) // 1000}

    too_many = get(client, device.owner, device.id, key="t", bucket="1m", **week)
    suggested = too_many.json["suggested_bucket"]
    retried = get(client, device.owner, device.id, key="t", bucket=suggested, **week)

    assert too_many.status_code == 400
    assert too_many.json["error"] == "too_many_buckets"
    assert "10080 buckets" in too_many.json["message"]
    assert suggested == "10m"  # 1,008 buckets; 5m would be 2,016
    assert retried.status_code == 200


# Time zones and input forms


def test_from_and_to_accept_any_offset_and_unix_seconds(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 + i * MINUTE_MS, i) for i in range(10)])
    forms = [
        {"from_": "2026-11-27T10:02:00Z", "to": "2026-11-27T10:05:00Z"},
        {"from_": "2026-11-27T12:02:00+02:00", "to": "2026-11-27T07:05:00-03:00"},
        {"from_": "2026-11-27T15:32:00.000+05:30", "to": "2026-11-27T10:05:00"},  # naive means UTC
        {"from_": (T0 + 2 * MINUTE_MS) / 1000, "to": str((T0 + 5 * MINUTE_MS) // 1000)},
        {"from_": "2026-11-27 10:02:00", "to": "2026-11-27 11:05+01:00"},  # a space for the T
    ]

    for form in forms:
        response = get(client, device.owner, device.id, key="t", **form)
        assert response.status_code == 200, (form, response.json)
        assert response.json["from"] == "2026-11-27T10:02:00.000Z", form
        assert [p["value"] for p in response.json["points"]] == [2, 3, 4], form


def test_an_unencoded_plus_in_the_offset_still_means_plus(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0, "at ten UTC")])

    # A literal + in a query string decodes to a space.
    response = client.get(
        f"/api/devices/{device.id}/history?key=t&from=2026-11-27T11:59:00+02:00&to=2026-11-27T12:01:00+02:00",
        headers=device.owner.headers,
    )

    assert response.status_code == 200, response.json
    assert [p["value"] for p in response.json["points"]] == ["at ten UTC"]


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"from_": "2026-11-27T11:00:00Z", "to": "2026-11-27T10:00:00Z"}, "must be before"),
        ({"from_": "2026-11-27T10:00:00Z", "to": "2026-11-27T12:00:00+02:00"}, "must be before"),
        ({"from_": "yesterday"}, "neither ISO-8601"),
        ({"to": "2026-13-01T00:00:00Z"}, "neither ISO-8601"),
        ({"from_": "-5"}, "before 1970"),
        ({"to": "99999999999999"}, "after 9999"),
        ({"bucket": "abc"}, "bucket"),
        ({"bucket": "0s"}, "bucket"),
        ({"bucket": "400d"}, "bucket"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_400_with_a_message(client, make_device, params, fragment):
    device = make_device()

    response = get(client, device.owner, device.id, key="t", **params)

    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert fragment in response.json["message"]


@pytest.mark.parametrize("query", ["", "key=", "key=1abc", "key=" + "k" * 65])
def test_a_missing_or_invalid_key_is_400(client, make_device, query):
    device = make_device()

    response = client.get(f"/api/devices/{device.id}/history?{query}", headers=device.owner.headers)

    assert response.status_code == 400
    assert response.json["message"].startswith("key")


# Authorization


def test_anonymous_is_401(client, make_device):
    device = make_device()

    response = client.get(history_url(device.id, key="t"))

    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_another_users_device_is_404(client, make_device, make_user, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(now_ms() - 1000, 1)])
    stranger = make_user()

    as_json = client.get(history_url(device.id, key="t"), headers=stranger.headers)
    as_csv = client.get(history_url(device.id, key="t", format="csv"), headers=stranger.headers)

    assert as_json.status_code == 404
    assert as_csv.status_code == 404
    assert as_csv.json["error"] == "not_found"


def test_an_unknown_device_is_404(client, make_user):
    user = make_user()

    response = client.get(history_url("0" * 24, key="t"), headers=user.headers)

    assert response.status_code == 404


def test_an_admin_reads_any_devices_history(client, make_device, make_user, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(now_ms() - 1000, 7)])
    admin = make_user(admin=True)

    response = client.get(history_url(device.id, key="t"), headers=admin.headers)

    assert response.status_code == 200
    assert [p["value"] for p in response.json["points"]] == [7]


def test_the_owners_login_session_is_enough(app, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(now_ms() - 1000, 3)])
    browser = app.test_client()
    log_in(browser, device.owner.email)

    response = browser.get(history_url(device.id, key="t"))

    assert response.status_code == 200
    assert [p["value"] for p in response.json["points"]] == [3]


# Documentation


def test_the_openapi_document_describes_the_history_endpoint(client):
    operation = client.get("/openapi.json").json["paths"]["/api/devices/{device_id}/history"]["get"]

    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"device_id", "key", "from", "to", "bucket", "points", "fit", "format"}
    assert parameters["key"]["required"] is True
    assert parameters["from"]["required"] is False
    assert "ISO-8601" in parameters["from"]["description"]
    assert parameters["format"]["schema"]["enum"] == ["json", "csv"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"400", "401", "404"} <= set(operation["responses"])


# What ingest keeps


def test_a_resent_batch_is_counted_as_duplicates_and_kept_once(client, make_device):
    device = make_device()
    records = [{"ts": (T0 + i * 10_000) / 1000, "data": {"t": i, "h": 50 + i}} for i in range(5)]
    body = {"device_token": device.token, "records": records}

    first = client.post(f"/devices/{device.id}/telemetry/batch", json=body)
    again = client.post(f"/devices/{device.id}/telemetry/batch", json=body)
    history = get(client, device.owner, device.id, key="h", from_=T0 // 1000, to=T0 // 1000 + 60)

    assert first.json == {"accepted": 5, "duplicates": 0}
    assert again.json == {"accepted": 0, "duplicates": 5}
    assert [p["value"] for p in history.json["points"]] == [50, 51, 52, 53, 54]


def test_buckets_over_weeks_lose_nothing_where_the_reads_are_split(client, make_device, add_readings):
    # The server reads a week of buckets per transaction; 20 days at 1h are three reads.
    device = make_device()
    start = T0 - 10 * HOUR_MS  # 2026-11-27T00:00:00Z
    readings = [(start + i * 7 * MINUTE_MS + 500, i) for i in range(20 * 24 * 60 // 7)]  # every 7 minutes
    add_readings(device.id, "t", readings)
    window_start = start + 90 * MINUTE_MS  # mid-hour: the first read ends on an hour, not a week after 01:30

    response = get(client, device.owner, device.id, key="t", from_=window_start // 1000, to=(start + 20 * DAY_MS) // 1000, bucket="1h")

    buckets = response.json["buckets"]
    assert sum(b["count"] for b in buckets) == len([ts for ts, _ in readings if ts >= window_start])
    assert [b["t"] for b in buckets][:2] == ["2026-11-27T01:00:00.000Z", "2026-11-27T02:00:00.000Z"]
    assert len(buckets) == 20 * 24 - 1
    assert len({b["t"] for b in buckets}) == len(buckets)
    week_edge = next(b for b in buckets if b["t"] == "2026-12-04T01:00:00.000Z")  # 168 buckets after the first
    assert week_edge["count"] == len([ts for ts, _ in readings if start + 7 * DAY_MS + HOUR_MS <= ts < start + 7 * DAY_MS + 2 * HOUR_MS])
    assert week_edge["last"] == max(v for ts, v in readings if ts < start + 7 * DAY_MS + 2 * HOUR_MS)
