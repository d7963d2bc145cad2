"""/health and telemetry POST latency while one address holds 2,000 slow connections (issue 18).

Measures each kind of request (a new connection each, from 127.0.0.1) for
--seconds without a flood, then for --seconds with --flood slow connections
from 127.0.0.2 trickling their headers (tests/slow_clients.py), with the
server's defaults (MAX_CONNECTIONS_PER_ADDRESS, REQUEST_HEADER_TIMEOUT).

    .venv/bin/python -m bench.flood_bench --flood 2000 --seconds 10
"""
import argparse
import statistics
import threading
import time

import requests

from bench import common
from tests.slow_clients import SlowClients, allow_open_files, percentile


def measure(server, device, seconds):
    """{kind: [latency ms]} and the statuses other than 200, over `seconds`."""
    latencies = {"health": [], "telemetry": []}
    failures = []
    telemetry = f"{server.url}/devices/{device['device_id']}/telemetry"
    calls = {
        "health": lambda: requests.get(f"{server.url}/health", timeout=30),
        "telemetry": lambda: requests.post(telemetry, json={"device_token": device["device_token"], "data": {"t": 1}}, timeout=30),
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for kind, call in calls.items():
            started = time.perf_counter()
            try:
                status = call().status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            latencies[kind].append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(status)
    return latencies, failures


def summary(latencies):
    return {
        kind: {"requests": len(values), "p50_ms": round(statistics.median(values), 1), "p99_ms": round(percentile(values, 0.99), 1)}
        for kind, values in latencies.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    allow_open_files(args.flood)
    server = common.start_thingsnxt()
    try:
        device = server.create_device()
        quiet, quiet_failures = measure(server, device, args.seconds)
        flood = SlowClients(server.port, args.flood)
        trickler = threading.Thread(target=flood.trickle_until_closed, args=(args.seconds + 1,), daemon=True)
        trickler.start()
        flooded, flooded_failures = measure(server, device, args.seconds)
        held = len(flood.open)
        trickler.join()
        flood.close()
    finally:
        server.close()
    result = {
        "flood_connections": args.flood,
        "held_by_server_at_end": held,
        "quiet": summary(quiet),
        "flood": summary(flooded),
        "failures": {"quiet": quiet_failures, "flood": flooded_failures},
    }
    common.print_table(
        f"Requests from other clients while {args.flood} slow connections come from one address ({common.backend()})",
        ["request", "phase", "requests", "p50 ms", "p99 ms"],
        [
            (kind, phase, result[phase][kind]["requests"], result[phase][kind]["p50_ms"], result[phase][kind]["p99_ms"])
            for kind in ("health", "telemetry")
            for phase in ("quiet", "flood")
        ],
    )
    print(f"failures: {result['failures']}; slow connections the server still held after {args.seconds} s: {held}")
    print("results:", common.write_result("flood", result))


if __name__ == "__main__":
    main()
