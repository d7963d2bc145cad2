"""What a chart asks for: at most `points` (its width) of a window, and a window that `fit`s the data."""
from tests.history.conftest import DAY_MS, HOUR_MS, T0, history_url
from webapp.core.clock import now_ms, parse_timestamp_ms

MINUTE_MS = 60_000


def get(client, device, **params):
    response = client.get(history_url(device.id, **params), headers=device.owner.headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_window_holding_no_more_readings_than_points_comes_back_raw(client, make_device, add_readings):
    device = make_device()
    add_readings(device.id, "t", [(T0 + i * 1000, 20 + i / 100) for i in range(111)])

    answer = get(client, device, key="t", from_=T0 // 1000, to=(T0 + DAY_MS) // 1000, points=600)

    assert answer["bucket"] is None and "buckets" not in answer
    assert len(answer["points"]) == 111 and answer["points"][-1]["value"] == 21.1


def test_more_readings_than_points_come_back_as_min_max_buckets_that_keep_every_spike(client, make_device, add_readings):
    device = make_device()
    readings = [(T0 + i * 2000, 20.0) for i in range(43_200)]  # a day, every 2 s
    readings[10_000] = (readings[10_000][0], 95.5)  # one spike
    readings[30_000] = (readings[30_000][0], -7.25)  # one dip
    add_readings(device.id, "t", readings)

    answer = get(client, device, key="t", from_=T0 // 1000, to=(T0 + DAY_MS) // 1000, points=600)

    buckets = answer["buckets"]
    assert len(buckets) <= 600 and answer["bucket"] == 145  # ceil(86400 s / 599), whole seconds
    assert max(bucket["max"] for bucket in buckets) == 95.5 and min(bucket["min"] for bucket in buckets) == -7.25
    assert sum(bucket["count"] for bucket in buckets) == 43_200


def test_points_is_checked_and_excludes_bucket(client, make_device):
    device = make_device()
    url = lambda **params: history_url(device.id, key="t", **params)  # noqa: E731

    refused = [client.get(url(**params), headers=device.owner.headers) for params in ({"points": 1}, {"points": 5000}, {"points": 600, "bucket": "1m"})]

    assert [response.status_code for response in refused] == [400, 400, 400]
    assert "not both" in refused[2].json["message"]


def test_fit_opens_on_the_shortest_window_that_holds_the_last_week_of_data(client, make_device, add_readings):
    now = now_ms()
    spans = {}
    for age_ms, expected in ((10 * MINUTE_MS, HOUR_MS), (3 * HOUR_MS, DAY_MS), (3 * DAY_MS, 7 * DAY_MS), (30 * DAY_MS, HOUR_MS), (None, HOUR_MS)):
        device = make_device()
        if age_ms is not None:
            add_readings(device.id, "t", [(now - age_ms, 1), (now - MINUTE_MS, 2)])
        answer = get(client, device, key="t", fit="1", to=now / 1000)
        spans[age_ms] = (parse_timestamp_ms(answer["to"]) - parse_timestamp_ms(answer["from"]), expected)

    assert all(span == expected for span, expected in spans.values()), spans


def test_fit_and_from_exclude_each_other(client, make_device):
    device = make_device()

    response = client.get(history_url(device.id, key="t", fit="1", from_=T0 // 1000), headers=device.owner.headers)

    assert response.status_code == 400 and "not both" in response.json["message"]

