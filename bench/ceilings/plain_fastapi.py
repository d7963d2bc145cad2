"""What many would pick instead: the same route and body in FastAPI (served by uvicorn), no storage."""
from fastapi import FastAPI

from webapp.schemas import TelemetryIn

app = FastAPI()


@app.post("/devices/{device_id}/telemetry")
async def telemetry(device_id: str, body: TelemetryIn):
    return {"message": "ok", "device_id": device_id, "data": body.data}
