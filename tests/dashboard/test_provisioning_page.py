"""The provisioning page: make a key (secret shown once), see the devices it made and its refusals, revoke it."""
import re

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ProvisioningKey


def test_a_key_made_on_the_page_shows_its_secret_once_then_what_it_made_and_refused(app, client, browser_for, make_user):
    owner = make_user()
    browser = browser_for(owner)

    made = browser.htmx("POST", "/provisioning", data={"name": "Greenhouse fleet", "max_devices": "2", "expires_at": "2099-01-01T00:00"})

    assert made.status_code == 200
    html = made.get_data(as_text=True)
    key = re.search(r'id="new-key-\d+">([\w-]+)<', html)[1]
    secret = re.search(r'id="new-secret-\d+">([\w-]+)<', html)[1]
    assert "0 of 2 devices made" in html and "2099-01-01T00:00:00.000Z" in html
    board = {"provisioning_key": key, "provisioning_secret": secret, "hardware_id": "a4cf12345678", "name": "Bench board"}
    assert client.post("/devices/provision", json=board).status_code == 201
    assert client.post("/devices/provision", json=board | {"provisioning_secret": "w" * 43, "hardware_id": "a4cf00000009"}).status_code == 401

    page = browser.get("/provisioning").get_data(as_text=True)

    assert secret not in page
    assert "Bench board" in page and "1 of 2 devices made" in page
    assert "wrong secret (board <code>a4cf00000009</code>)" in page


def test_revoking_on_the_page_removes_the_key(app, browser_for, make_user):
    owner = make_user()
    browser = browser_for(owner)
    browser.htmx("POST", "/provisioning", data={"name": "Doomed", "max_devices": "1"})
    with app.app_context():
        key_id = db.session.scalar(select(ProvisioningKey.id).where(ProvisioningKey.owner_id == owner.id))

    assert browser.htmx("DELETE", f"/provisioning/{key_id}").status_code == 200

    assert "Doomed" not in browser.get("/provisioning").get_data(as_text=True)


def test_a_bad_key_form_says_why(browser_for, make_user):
    response = browser_for(make_user()).htmx("POST", "/provisioning", data={"name": "Fleet", "max_devices": "0"})

    assert response.status_code == 400
    assert "max_devices" in response.get_data(as_text=True)
