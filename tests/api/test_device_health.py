"""The `device` health report: the latest one is kept per device and shown in GET /api/devices/{id}."""
REPORT = {"fw": "1.4.0", "rssi": -61, "heap_free": 181234, "heap_min": 150000, "heap_max_block": 110000, "uptime_s": 3600, "reset_reason": "poweron", "transport": "http"}


def report(client, device, health, path=None):
    return client.post(path or f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}, "device": health})


def shown(client, device):
    return client.get(f"/api/devices/{device.id}", headers=device.owner.headers).json["health"]


def test_a_device_without_reports_has_no_health(client, make_device):
    device = make_device()

    assert shown(client, device) is None


def test_the_latest_report_is_shown_with_when_it_came(client, make_device):
    device = make_device()
    report(client, device, REPORT)

    assert report(client, device, REPORT | {"uptime_s": 3660, "rssi": -62}).status_code == 200

    health = shown(client, device)
    assert health | {"reported_at": None} == REPORT | {"uptime_s": 3660, "rssi": -62, "reported_at": None, "warnings": [], "rebooted_itself": False}
    assert health["reported_at"].endswith("Z")


def test_a_partial_report_through_the_legacy_endpoint_leaves_the_rest_null(client, make_device):
    device = make_device()

    report(client, device, {"fw": "0.9", "reset_reason": "watchdog"}, path="/telemetry")

    health = shown(client, device)
    assert (health["fw"], health["rssi"], health["reset_reason"], health["rebooted_itself"]) == ("0.9", None, "watchdog", True)


def test_weak_signal_and_low_memory_are_flagged(client, make_device):
    device = make_device()

    report(client, device, REPORT | {"rssi": -85, "heap_min": 12000})

    assert shown(client, device)["warnings"] == ["weak signal", "low memory"]


def test_a_report_with_unknown_members_is_400_and_stores_nothing(client, make_device):
    device = make_device()

    response = report(client, device, REPORT | {"temperature": 40})

    assert response.status_code == 400
    assert "device.temperature" in response.json["message"]
    assert shown(client, device) is None
