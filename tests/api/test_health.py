"""GET /health: 200 with the database reachable, 503 when it is not; device routes answer 503 then too."""
from webapp import create_app
from webapp.schemas import HealthOut


def test_health_ok(client):
    response = client.get("/health")

    assert response.status_code == 200
    body = HealthOut.model_validate(response.json)
    assert (body.status, body.database) == ("ok", "ok")


def unreachable_database_app():
    # Port 9 (discard) is closed here: connections are refused at once.
    return create_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none", "REDIS_URL": "", "TESTING": True})


def test_health_503_when_database_is_unreachable():
    response = unreachable_database_app().test_client().get("/health")

    assert response.status_code == 503
    assert HealthOut.model_validate(response.json).database == "unavailable"


def test_device_routes_answer_503_not_500_when_database_is_unreachable():
    client = unreachable_database_app().test_client()

    posted = client.post("/devices/0123456789abcdef01234567/telemetry", json={"device_token": "t", "data": {"v0": 1}})
    polled = client.get("/telemetry/latest", query_string={"device_token": "t"})

    assert (posted.status_code, polled.status_code) == (503, 503)
    assert posted.json["error"] == "unavailable"
    assert posted.headers["Retry-After"]
