"""The files of deploy/ agree with the application: every setting in the environment template, nginx's
limits and timeouts with the app's, the systemd stop timeout with GRACEFUL_TIMEOUT, and the alert rules
valid and unit-tested by promtool."""
import os
import re
import shutil
import subprocess

import pytest

from tests.live_server import ROOT
from webapp.config import Config, check_production_settings
from webapp.services.ingest.writer import ingest_writer

DEPLOY = os.path.join(ROOT, "deploy")
PROMTOOL = shutil.which("promtool")


def read(*path):
    with open(os.path.join(DEPLOY, *path)) as deploy_file:
        return deploy_file.read()


def environment_file(text):
    """NAME=value pairs as systemd's EnvironmentFile (and `set -a; . file`) read them: comments and blank
    lines skipped, quotes around a value removed."""
    pairs = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            pairs[name.strip()] = value
    return pairs


def settings_from(environment, monkeypatch):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Config.from_environment()


def test_the_environment_template_has_every_setting_and_nothing_else():
    template = environment_file(read("thingsnxt.env.template"))
    settings = {name for name in dir(Config) if name.isupper()}

    assert sorted(settings - template.keys()) == []
    assert sorted(template.keys() - settings) == []


def test_the_environment_template_is_a_production_configuration_once_its_secret_is_set(monkeypatch):
    template = environment_file(read("thingsnxt.env.template"))
    unset = settings_from(template, monkeypatch)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        check_production_settings(unset)
    settings = settings_from({**template, "SECRET_KEY": "k" * 48}, monkeypatch)
    check_production_settings(settings)

    assert settings["ENVIRONMENT"] == "production"
    assert settings["TRUSTED_PROXIES"] == 1 and settings["PREFERRED_URL_SCHEME"] == "https"
    assert settings["REDIS_URL"] and settings["DATABASE_URL"].startswith("postgresql://")
    assert settings["DEMO_DEVICE"] is False


def test_nginx_limits_and_timeouts_match_the_app():
    site = read("nginx", "thingsnxt.conf")
    body_limit = re.search(r"client_max_body_size (\d+)k;", site).group(1)
    read_timeouts = [int(seconds) for seconds in re.findall(r"proxy_read_timeout (\d+)s;", site)]

    assert int(body_limit) * 1024 == max(Config.MAX_BODY_BYTES, Config.MAX_BATCH_BODY_BYTES)
    # Long-polls are answered by the app before nginx would give up on them.
    assert read_timeouts and min(read_timeouts) > Config.LONG_POLL_MAX_SECONDS


def test_systemd_waits_for_a_graceful_stop():
    unit = read("systemd", "thingsnxt.service")
    stop_timeout = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))
    command = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)

    assert stop_timeout > Config.GRACEFUL_TIMEOUT
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in command
    assert re.search(r"^EnvironmentFile=/etc/thingsnxt/thingsnxt.env$", unit, re.M)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (make promtool)")
def test_the_alert_rules_are_valid_and_fire_on_what_they_are_for():
    rules_dir = os.path.join(DEPLOY, "prometheus")
    checked = subprocess.run([PROMTOOL, "check", "rules", "alerts.yml"], cwd=rules_dir, capture_output=True, text=True)
    tested = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=rules_dir, capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    unit = tmp_path / "thingsnxt.service"
    unit.write_text(read("systemd", "thingsnxt.service"))
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    # This machine has no /opt/thingsnxt: that one complaint is expected, any other is a mistake in the unit.
    complaints = [line for line in verified.stderr.splitlines() if line.strip() and "/opt/thingsnxt/.venv/bin/gunicorn is not executable" not in line]

    assert complaints == []


def test_the_alerts_and_the_metrics_table_name_only_metrics_the_app_serves(make_app, make_device):
    app = make_app(METRICS_TOKEN="scrape-secret", REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    client = app.test_client()
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    ingest_writer(app).drain()
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).get_data(as_text=True)
    served = set(re.findall(r"^(thingsnxt_\w+)", scraped, re.M))
    # Less prometheus_client's *_created timestamps, which only a single process (not gunicorn's workers) sends.
    families = {name for name in re.findall(r"^# TYPE (thingsnxt_\w+)", scraped, re.M) if not name.endswith("_created")}
    used_by_alerts = set(re.findall(r"\b(thingsnxt_\w+)", read("prometheus", "alerts.yml")))
    with open(os.path.join(ROOT, "docs", "DEPLOYMENT.md")) as guide:
        documented = set(re.findall(r"^\| `(thingsnxt_\w+)`", guide.read(), re.M))

    assert used_by_alerts and used_by_alerts <= served
    assert documented == families
