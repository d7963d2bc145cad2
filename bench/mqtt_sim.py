"""A fleet of simulated MQTT devices in one asyncio process, with a minimal MQTT 3.1.1 codec (paho's client costs
too much per connection to hold thousands in one process).

    python bench/mqtt_sim.py DEVICES_FILE PORT INTERVAL SECONDS RESULT_FILE [--ramp-per-second N]

It prints "ready" once its devices are connected, and starts publishing at a line on its standard input.

Each device (a line "<id> <token>" of DEVICES_FILE) connects as its id with its token (last will `offline` on
devices/<id>/status), subscribes to devices/<id>/state, says `online` on its status topic, then publishes QoS 1 telemetry
`{"data": {"t": <sent ms>}, "seq": n, "boot": …}` every INTERVAL seconds (±20 % jitter) for SECONDS, and records
the PUBACKs it gets and when each state message (a toggle: `{"data": {"led": k}}`) arrived, then disconnects cleanly
(its last will is not published). RESULT_FILE gets
JSON: connected, refused, published, acknowledged, the toggles heard [device, k, ms] and the time publishing ended.
"""
import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time

JITTER = 0.2
CONNECT_TIMEOUT = 30


def _string(text):
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _length(value):
    encoded = bytearray()
    while True:
        value, digit = divmod(value, 128)
        encoded.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _packet(first_byte, body):
    return bytes([first_byte]) + _length(len(body)) + body


def connect_packet(device_id, token):
    # username, password, will retain, will QoS 1, will flag, clean session; keepalive 0 (no pings).
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02
    will_topic = f"devices/{device_id}/status"
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", 0)
    body += _string(device_id) + _string(will_topic) + _string("offline") + _string(device_id) + _string(token)
    return _packet(0x10, body)


def subscribe_packet(packet_id, topic):
    return _packet(0x82, struct.pack("!H", packet_id) + _string(topic) + b"\x01")


def publish_packet(packet_id, topic, payload, retain=False):
    """QoS 1, or QoS 0 without a `packet_id`."""
    if packet_id is None:
        return _packet(0x30 | (0x01 if retain else 0), _string(topic) + payload)
    return _packet(0x32 | (0x01 if retain else 0), _string(topic) + struct.pack("!H", packet_id) + payload)


async def read_packet(reader):
    first = (await reader.readexactly(1))[0]
    multiplier, length = 1, 0
    while True:
        digit = (await reader.readexactly(1))[0]
        length += (digit & 0x7F) * multiplier
        if not digit & 0x80:
            break
        multiplier *= 128
    return first, await reader.readexactly(length)


class Fleet:
    def __init__(self, port, interval, seconds):
        self.port, self.interval, self.seconds = port, interval, seconds
        self.connected = self.refused = self.published = self.acknowledged = 0
        self.toggles = []
        self.started = asyncio.Event()

    async def device(self, device_id, token):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), CONNECT_TIMEOUT)
            writer.write(connect_packet(device_id, token))
            kind, body = await asyncio.wait_for(read_packet(reader), CONNECT_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            self.refused += 1
            return
        if kind != 0x20 or body[1] != 0:
            self.refused += 1
            return
        self.connected += 1
        writer.write(subscribe_packet(1, f"devices/{device_id}/state"))
        # As docs/MQTT.md asks of a device (QoS 0: the PUBACKs counted are the readings').
        writer.write(publish_packet(None, f"devices/{device_id}/status", b"online", retain=True))
        listening = asyncio.ensure_future(self._listen(device_id, reader, writer))
        await self.started.wait()
        boot = os.urandom(4).hex()
        topic = f"devices/{device_id}/telemetry"
        deadline = time.monotonic() + self.seconds
        await asyncio.sleep(random.uniform(0, self.interval))
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            payload = json.dumps({"data": {"t": int(time.time() * 1000)}, "seq": seq, "boot": boot}).encode()
            writer.write(publish_packet(seq % 65535 + 1, topic, payload))
            self.published += 1
            await asyncio.sleep(self.interval * random.uniform(1 - JITTER, 1 + JITTER))
        self.devices_done += 1
        await self.all_done.wait()
        listening.cancel()
        # A clean DISCONNECT: the broker drops the last will, so the fleet does not go offline between steps (each
        # would otherwise cost the platform a status change per device, twice, and the benchmark measures readings).
        writer.write(b"\xe0\x00")
        await writer.drain()
        writer.close()

    async def _listen(self, device_id, reader, writer):
        try:
            while True:
                kind, body = await read_packet(reader)
                packet_type = kind >> 4
                if packet_type == 4:  # PUBACK
                    self.acknowledged += 1
                elif packet_type == 3:  # PUBLISH from the platform: the device's state
                    heard_ms = time.time() * 1000
                    topic_length = struct.unpack("!H", body[:2])[0]
                    offset = 2 + topic_length
                    if (kind >> 1) & 0x03:
                        writer.write(_packet(0x40, body[offset:offset + 2]))
                        offset += 2
                    led = json.loads(body[offset:]).get("data", {}).get("led")
                    if led is not None:
                        self.toggles.append([device_id, led, heard_ms])
        except (asyncio.IncompleteReadError, OSError):
            return

    async def run(self, devices, ramp_per_second):
        self.devices_done = 0
        self.all_done = asyncio.Event()
        tasks = []
        for number, (device_id, token) in enumerate(devices):
            tasks.append(asyncio.ensure_future(self.device(device_id, token)))
            if number % 100 == 99:
                await asyncio.sleep(100 / ramp_per_second)
        while self.connected + self.refused < len(devices):
            await asyncio.sleep(0.1)
        print(f"ready {self.connected} {self.refused}", flush=True)
        # "go" on stdin: the platform has taken the fleet online.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        self.started.set()
        publishing_started = time.time()
        while self.devices_done < self.connected:
            await asyncio.sleep(0.2)
        ended = time.time()
        # PUBACKs of the last publishes still on their way.
        await asyncio.sleep(1)
        self.all_done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return publishing_started, ended


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("devices_file")
    parser.add_argument("port", type=int)
    parser.add_argument("interval", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("result_file")
    parser.add_argument("--ramp-per-second", type=int, default=2000)
    args = parser.parse_args()
    with open(args.devices_file) as lines:
        devices = [line.split() for line in lines if line.strip()]
    fleet = Fleet(args.port, args.interval, args.seconds)
    started, ended = asyncio.run(fleet.run(devices, args.ramp_per_second))
    with open(args.result_file, "w") as result:
        json.dump({
            "connected": fleet.connected, "refused": fleet.refused, "published": fleet.published, "acknowledged": fleet.acknowledged,
            "toggles": fleet.toggles, "publishing_started": started, "publishing_ended": ended,
        }, result)


if __name__ == "__main__":
    main()
