"""The webhook API: create (secret shown once), list, change, delete; URLs checked against SSRF."""
import pytest

from webapp.services.webhooks import targets as webhook_targets


def post_webhook(client, device, **body):
    return client.post(f"/api/devices/{device.id}/webhooks", json=body, headers=device.owner.headers)


def test_create_shows_the_secret_once_and_lists_without_it(client, make_device, make_webhook, receiver):
    device = make_device()
    created = make_webhook(device, receiver.url, events=["online", "telemetry"])

    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["telemetry", "online"]
    assert created["enabled"] is True and created["url"] == receiver.url
    listed = client.get(f"/api/devices/{device.id}/webhooks", headers=device.owner.headers).get_json()["webhooks"]
    assert [webhook["id"] for webhook in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/api/devices/{device.id}/webhooks/{created['id']}", headers=device.owner.headers).get_json()
    assert one == listed[0]


def test_a_secret_of_the_users_own_is_kept(make_device, make_webhook, receiver):
    created = make_webhook(make_device(), receiver.url, secret="my-own-secret-of-16+")
    assert created["secret"] == "my-own-secret-of-16+"


def test_change_and_delete(client, make_device, make_webhook, receiver):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    path = f"/api/devices/{device.id}/webhooks/{webhook['id']}"

    changed = client.patch(path, json={"events": ["offline"], "enabled": False}, headers=device.owner.headers)
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["offline"]
    assert changed.get_json()["enabled"] is False
    assert changed.get_json()["disabled_reason"] == "disabled by its owner"
    enabled = client.patch(path, json={"enabled": True}, headers=device.owner.headers).get_json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None

    assert client.delete(path, headers=device.owner.headers).status_code == 204
    assert client.get(path, headers=device.owner.headers).status_code == 404
    assert client.get(f"/api/devices/{device.id}/webhooks", headers=device.owner.headers).get_json() == {"webhooks": []}


def test_others_cannot_see_or_touch_a_devices_webhooks(client, make_device, make_user, make_webhook, receiver):
    device, stranger = make_device(), make_user()
    webhook = make_webhook(device, receiver.url)
    other_device = make_device(owner=device.owner)

    assert client.get(f"/api/devices/{device.id}/webhooks", headers=stranger.headers).status_code == 404
    response = client.delete(f"/api/devices/{device.id}/webhooks/{webhook['id']}", headers=stranger.headers)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    # The id of a webhook of another device of the same owner is not found under this one.
    assert client.get(f"/api/devices/{other_device.id}/webhooks/{webhook['id']}", headers=device.owner.headers).status_code == 404
    assert client.get(f"/api/devices/{device.id}/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/hook", "only http:// and https://"),
        ("http:///nohost", "no host"),
        ("http://user:pw@example.com/hook", "credentials"),
        ("http://10.1.2.3/hook", "private"),
        ("http://127.0.0.1:9/hook", "private"),
        ("http://localhost/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("http://[::1]/hook", "private"),
        ("http://[::ffff:192.168.0.1]/hook", "private"),
        # IPv6 transition addresses carrying a non-public IPv4 address (NAT64, IPv4-compatible, 6to4, Teredo)
        ("http://[64:ff9b::a9fe:a9fe]/", "private"),
        ("http://[64:ff9b::7f00:1]/", "private"),
        ("http://[64:ff9b:1::a00:1]/", "private"),
        ("http://[::127.0.0.1]/", "private"),
        ("http://[::a9fe:a9fe]/", "private"),
        ("http://[2002:7f00:1::]/", "private"),
        ("http://[2002:a9fe:a9fe::]/", "private"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "private"),
        ("http://example.com:0/hook", "port 0"),
        ("http://host.invalid/hook", "does not resolve"),
        ("http://example.com:99999/hook", "not a valid URL"),
    ],
)
def test_urls_that_are_refused(client, make_device, webhook_settings, url, says):
    webhook_settings("WEBHOOK_ALLOW_PRIVATE", False)
    response = post_webhook(client, make_device(), url=url, events=["telemetry"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert says in response.get_json()["message"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),
        ("::127.0.0.1", False),
        ("::8.8.8.8", True),
        ("2002:a9fe:a9fe::", False),
        ("2002:808:808::1", True),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
        ("::ffff:10.0.0.1", False),
        ("2606:4700:4700::1111", True),
    ],
)
def test_the_delivery_time_check_judges_the_ipv4_address_inside_an_ipv6_one(address, public):
    """Deliveries check the address actually connected to with the same rule as saving (DNS rebinding)."""
    if public:
        webhook_targets.check_address(address)
    else:
        with pytest.raises(webhook_targets.BlockedAddress):
            webhook_targets.check_address(address)


def test_private_urls_are_allowed_when_the_setting_says_so(client, make_device, make_webhook, webhook_settings):
    webhook_settings("WEBHOOK_ALLOW_PRIVATE", True)
    assert make_webhook(make_device(), "http://127.0.0.1:9/hook")["url"] == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9/", "events": []},
        {"url": "http://127.0.0.1:9/", "events": ["reboot"]},
        {"url": "http://127.0.0.1:9/"},
        {"url": "http://127.0.0.1:9/", "events": ["online"], "secret": "short"},
        {"url": "http://127.0.0.1:9/", "events": ["online"], "colour": "red"},
    ],
)
def test_bad_bodies_are_400(client, make_device, webhook_settings, body):
    response = post_webhook(client, make_device(), **body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_at_most_ten_webhooks_per_device(client, make_device, make_webhook, receiver):
    device = make_device()
    for _ in range(10):
        make_webhook(device, receiver.url)
    response = post_webhook(client, device, url=receiver.url, events=["telemetry"])
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"


def test_attempts_list_rejects_a_bad_limit(client, make_device):
    device = make_device()
    response = client.get(f"/api/devices/{device.id}/webhooks/attempts?limit=0", headers=device.owner.headers)
    assert response.status_code == 400 and "limit" in response.get_json()["message"]


def test_openapi_documents_the_webhook_routes(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert set(paths["/api/devices/{device_id}/webhooks"]) == {"get", "post"}
    assert set(paths["/api/devices/{device_id}/webhooks/{webhook_id}"]) == {"get", "patch", "delete"}
    assert "get" in paths["/api/devices/{device_id}/webhooks/attempts"]
    created = paths["/api/devices/{device_id}/webhooks"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookCreatedOut"}
