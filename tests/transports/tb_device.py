"""A ThingsBoard device driven by ThingsBoard's own Python client (tb-mqtt-client's TBHTTPDevice).

Run by tests/transports/test_thingsboard.py with the interpreter of the
client's own virtualenv (`make tb-client`), never imported by the suite:
it reads one JSON command per line on stdin and writes one JSON line per
answer or event on stdout, so the test can act between the client's steps.

    {"op": "open", "host": …, "token": …, "chunk_size": 0} | {"op": "provision", "host": …, "name": …, "key": …, "secret": …}
    {"op": "connect"} | {"op": "send_telemetry", "values": {…}, "queued": false} | {"op": "send_attributes", "attributes": {…}}
    {"op": "request_attributes", "client_keys": […], "shared_keys": […]} | {"op": "send_rpc", "method": …, "params": {…}}
    {"op": "subscribe", "endpoint": "attributes" | "rpc"} | {"op": "get_firmware_update"}
"""
import json
import sys

from tb_device_http import TBHTTPDevice


def tell(**fields):
    print(json.dumps(fields), flush=True)


def answer_command(device, request):
    """A command from the server: reply with what the client can send (send_rpc to its id), then tell the test."""
    device.send_rpc(request["method"], {"done": True, "echo": request["params"]}, rpc_id=request["id"])
    tell(event="rpc", request=request)


def main():
    device = None
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "open":
                device = TBHTTPDevice(command["host"], command["token"], chunk_size=command.get("chunk_size", 0))
                result = None
            elif op == "provision":
                device = TBHTTPDevice.provision(command["host"], command["name"], command["key"], command["secret"])
                result = device.token
            elif op == "connect":
                result = device.connect()
            elif op == "send_telemetry":
                result = device.send_telemetry(command["values"], queued=command.get("queued", False))
            elif op == "send_attributes":
                result = device.send_attributes(command["attributes"])
            elif op == "request_attributes":
                result = device.request_attributes(command.get("client_keys"), command.get("shared_keys"))
            elif op == "send_rpc":
                result = device.send_rpc(command["method"], command.get("params"))
            elif op == "subscribe" and command["endpoint"] == "attributes":
                result = device.subscribe("attributes", lambda changes: tell(event="attributes", changes=changes))
            elif op == "subscribe" and command["endpoint"] == "rpc":
                result = device.subscribe("rpc", lambda request: answer_command(device, request))
            elif op == "get_firmware_update":
                result = device.get_firmware_update()
            else:
                raise ValueError(f"unknown op {op}")
        except Exception as error:
            status = getattr(getattr(error, "response", None), "status_code", None)
            tell(op=op, error=type(error).__name__, status=status, detail=str(error))
        else:
            tell(op=op, result=result)


if __name__ == "__main__":
    main()
