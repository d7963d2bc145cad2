"""gunicorn.conf.py: the embedded default serves; several workers without Redis are refused."""
import os
import subprocess
import sys

from tests.live_server import ROOT, free_port


def test_several_workers_without_redis_are_refused_with_a_reason(tmp_path):
    env = {**os.environ, "WEB_CONCURRENCY": "2", "REDIS_URL": "", "PORT": str(free_port()), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}

    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr


def test_live_server_runs_gevent_worker_and_serves_the_api(live_server):
    import requests

    device = live_server.create_device()

    response = requests.post(
        f"{live_server.url}/devices/{device['device_id']}/telemetry", json={"device_token": device["device_token"], "data": {"v0": 1}}, timeout=10
    )

    assert response.status_code == 200
    assert "gevent_pywsgi" in live_server.log()
