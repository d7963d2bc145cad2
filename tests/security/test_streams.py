"""The live streams carry a device only to whoever may see it: its owner and admins (tests/dashboard/test_live.py has the rest)."""
import requests

from tests.dashboard.test_live import DEADLINE, Dashboard


def report(base_url, device_id, token, data):
    response = requests.post(f"{base_url}/devices/{device_id}/telemetry", json={"device_token": token, "data": data}, timeout=DEADLINE)
    assert response.status_code == 200, response.text


def test_an_admins_dashboard_follows_every_device_and_another_users_never_the_owners(threaded_server, world):
    admin = Dashboard(threaded_server, world.admin.email)
    other = Dashboard(threaded_server, world.other_user.email)
    try:
        report(threaded_server, world.device_id, world.device_token, {"v0": 1, "note": f"later {world.marker}"})
        # The other user's own device reports after the owner's: had the owner's reached them, it would have come first.
        report(threaded_server, world.other_device_id, world.other_device_token, {"v0": 1})
        admin_live = "".join(admin.receive_until(f'id="widget-{world.widget_id}"'))
        other_live = "".join(other.receive_until(f'id="seen-{world.other_device_id}"'))
    finally:
        admin.close()
        other.close()

    assert f'id="widgets-{world.device_id}"' in admin.snapshot and world.marker in admin.snapshot
    assert f'id="seen-{world.device_id}"' in admin_live
    for data in (world.device_id, world.marker, *world.token_prefixes):
        assert data not in other.snapshot + other_live
