"""The ceiling for ingest: the same route and body in plain Flask, validated by the same model, no storage."""
from flask import Flask, request

from webapp.http.json_provider import OrjsonProvider
from webapp.schemas import TelemetryIn

app = Flask(__name__)
app.json = OrjsonProvider(app)


@app.post("/devices/<device_id>/telemetry")
def telemetry(device_id):
    body = TelemetryIn.model_validate_json(request.get_data())
    return {"message": "ok", "device_id": device_id, "data": body.data}
