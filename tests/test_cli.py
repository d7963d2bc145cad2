"""The `flask --app wsgi …` commands of the README and the issue."""
import json
import re
import uuid

from tests.dashboard.helpers import log_in
from webapp.services.accounts import users
from webapp.services.ingest.writer import ingest_writer


def email():
    return f"cli-{uuid.uuid4().hex[:8]}@example.com"


def test_user_create_and_api_token(app, client):
    runner, address = app.test_cli_runner(), email()

    created = runner.invoke(args=["user", "create", address, "--password", "long enough pw", "--admin"])
    token = runner.invoke(args=["user", "api-token", address]).output.strip()

    assert created.exit_code == 0 and "admin" in created.output
    assert client.get("/api/devices", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_user_create_refuses_short_password_and_duplicates(app):
    runner, address = app.test_cli_runner(), email()

    short = runner.invoke(args=["user", "create", address, "--password", "short"])
    runner.invoke(args=["user", "create", address, "--password", "long enough pw"])
    again = runner.invoke(args=["user", "create", address, "--password", "long enough pw"])

    assert short.exit_code == 1 and "8 characters" in short.output
    assert again.exit_code == 1 and "exists" in again.output


def test_device_create_json_then_rotate(app, client):
    runner, owner = app.test_cli_runner(), email()
    runner.invoke(args=["user", "create", owner, "--password", "long enough pw"])

    created = json.loads(runner.invoke(args=["device", "create", "--owner", owner, "Garage", "--json"]).output)
    rotated = runner.invoke(args=["device", "rotate-token", created["device_id"]])

    new_token = rotated.output.split("device_token:")[1].strip()
    post = lambda token: client.post(f"/devices/{created['device_id']}/telemetry", json={"device_token": token, "data": {}})  # noqa: E731
    assert post(created["device_token"]).status_code == 403
    assert post(new_token).status_code == 200


def test_device_create_for_unknown_owner_fails_cleanly(app):
    result = app.test_cli_runner().invoke(args=["device", "create", "--owner", "nobody@example.com", "X"])

    assert result.exit_code == 1
    assert "No user" in result.output


def test_rotate_unknown_device_fails_cleanly(app):
    result = app.test_cli_runner().invoke(args=["device", "rotate-token", "ffffffffffffffffffffffff"])

    assert result.exit_code == 1 and "No device" in result.output


def test_seed_demo_creates_once_and_prints_working_credentials(database_url, tmp_path):
    import flask_migrate

    from tests.databases import create_database, drop_database
    from webapp import create_app

    url = create_database(tmp_path)
    credentials = tmp_path / "demo-device.json"
    app = create_app({"DATABASE_URL": url, "REDIS_URL": "", "TESTING": True, "DEMO_DEVICE_FILE": str(credentials)})
    with app.app_context():
        flask_migrate.upgrade()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-demo"]).output
    second = runner.invoke(args=["seed-demo"]).output
    credentials.unlink()
    third = runner.invoke(args=["seed-demo"]).output

    lines = dict(line.strip().split(":", 1) for line in first.splitlines()[1:])
    login_email, password = [part.strip() for part in lines["dashboard login"].split("/")]
    device_id, token = lines["device id"].strip(), lines["device token"].strip()
    with app.app_context():
        assert users.authenticate_user(login_email, password).is_admin
    # The demo device comes with a widget of each kind.
    page = app.test_client()
    log_in(page, login_email, password)
    kinds = re.findall(r'<div class="widget widget-(\w+)"', page.get(f"/devices/{device_id}").get_data(as_text=True))
    assert sorted(kinds) == ["chart", "gauge", "led", "switch", "value"]
    assert "exists" in second and "user set-password admin@thingsnxt.local" in second and token not in second
    # The simulator's credentials: kept apart from everyone (mode 600), renewed when they are gone.
    renewed = json.loads(credentials.read_text())
    assert renewed["device_id"] == device_id and "new token" in third and (credentials.stat().st_mode & 0o777) == 0o600
    post = lambda token: app.test_client().post(f"/devices/{device_id}/telemetry", json={"device_token": token, "data": {"v0": 1}})  # noqa: E731
    assert post(token).status_code == 403 and post(renewed["device_token"]).status_code == 200
    ingest_writer(app).drain()  # its announcement reads the database, which goes next
    app.extensions["broker"].close()
    with app.app_context():
        from webapp.extensions import db

        db.engine.dispose()
    drop_database(url)


def test_user_set_password_replaces_it_and_ends_the_users_logins(app):
    runner, address = app.test_cli_runner(), email()
    runner.invoke(args=["user", "create", address, "--password", "long enough pw"])
    browser = app.test_client()
    log_in(browser, address, "long enough pw")

    weak = runner.invoke(args=["user", "set-password", address, "--password", "password123"])
    changed = runner.invoke(args=["user", "set-password", address, "--password", "another long one"])
    unknown = runner.invoke(args=["user", "set-password", "nobody@example.com", "--password", "another long one"])

    assert weak.exit_code == 1 and "most common" in weak.output
    assert changed.exit_code == 0 and "logins have ended" in changed.output
    assert unknown.exit_code == 1 and "No user" in unknown.output
    assert browser.get("/").status_code == 302, "a login from before the change still works"
    with app.app_context():
        assert users.authenticate_user(address, "long enough pw") is None
        assert users.authenticate_user(address, "another long one") is not None


def test_db_backup_and_restore_say_what_is_wrong(app, tmp_path):
    runner = app.test_cli_runner()
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("shopping list")

    nowhere = runner.invoke(args=["db", "backup", str(tmp_path / "missing-dir" / "x.backup")])
    wrong_file = runner.invoke(args=["db", "restore", str(not_a_backup), "--yes"])
    missing = runner.invoke(args=["db", "restore", str(tmp_path / "none.backup"), "--yes"])
    unconfirmed = runner.invoke(args=["db", "restore", str(not_a_backup)], input="n\n")

    assert nowhere.exit_code == 1 and "failed" in nowhere.output
    assert wrong_file.exit_code == 1 and ("is not a SQLite backup" in wrong_file.output or "not appear to be a valid archive" in wrong_file.output)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert unconfirmed.exit_code == 1 and "Aborted" in unconfirmed.output
    assert not (tmp_path / "missing-dir").exists()
