"""Ingest: V2 telemetry POSTs across many device tokens, closed loop, against two ceilings.

ThingsNXT stores every reading; the ceilings (plain Flask under the same
gunicorn settings, plain FastAPI under uvicorn) only validate the same body.
After the run, the readings stored must equal the 2xx answers × keys per
body: zero acknowledged writes lost.

    .venv/bin/python bench/ingest_bench.py [--devices 1000] [--connections 64] [--duration 10] [--numbered] [--no-ceilings]

--numbered sends each reading with seq and boot, as the firmware does, so the
writer's deduplication runs on every one; --no-ceilings measures ThingsNXT alone.
"""
import argparse
import os

from sqlalchemy import func, select

from bench import common
from webapp.extensions import db
from webapp.models import Reading

SCRIPT = os.path.join(common.ROOT, "bench", "lua", "ingest.lua")
KEYS_PER_BODY = 3


def measure(url, devices_file, args):
    """The measured run, after a short warm-up; with the 2xx answers of both."""
    script_args = [devices_file, "numbered" if args.numbered else "plain"]
    # Long enough for every device to have posted once: the first post of each announces it online.
    warm_up = common.wrk(url, SCRIPT, script_args, connections=args.connections, duration=4)
    result = common.wrk(url, SCRIPT, script_args, connections=args.connections, duration=args.duration)
    result["acknowledged_with_warm_up"] = acknowledged(warm_up) + acknowledged(result)
    return result


def acknowledged(result):
    return sum(count for status, count in result["statuses"].items() if status.startswith("2"))


def stored_readings(server):
    with server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Reading))
        db.session.remove()
    return count


def run(args):
    workers = common.default_workers()
    server = common.start_thingsnxt(workers=workers)
    try:
        devices_file = common.write_devices_file(common.create_devices(server, args.devices))
        pids = server.worker_pids()
        ingest = measure(server.url, devices_file, args)
        server_cpu = sum(common.process_cpu_seconds(pid) for pid in pids)
        worker_rss = [common.rss_mib(pid) for pid in pids]
        stored = stored_readings(server)
    finally:
        server.close()
    # Requests still in flight when wrk stops may be stored without being counted: stored ≥ acknowledged.
    lost = max(0, ingest["acknowledged_with_warm_up"] * KEYS_PER_BODY - stored)
    ceilings = {}
    for name, start in () if args.no_ceilings else (("plain_flask", common.start_plain_flask), ("plain_fastapi", common.start_plain_fastapi)):
        process = start(workers)
        try:
            ceilings[name] = measure(process.url, devices_file, args)
        finally:
            process.stop()
    os.unlink(devices_file)
    return {
        "devices": args.devices,
        "connections": args.connections,
        "duration_s": args.duration,
        "workers": workers,
        "ingest": ingest,
        "ingest_server_cpu_s": round(server_cpu, 1),
        "worker_rss_mib": worker_rss,
        "readings_stored": stored,
        "readings_acknowledged": ingest["acknowledged_with_warm_up"] * KEYS_PER_BODY,
        "acknowledged_readings_lost": lost,
        "ceilings": ceilings,
        "numbered": args.numbered,
        **{f"ratio_to_{name}": round(ingest["rps"] / ceiling["rps"], 2) for name, ceiling in ceilings.items()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--numbered", action="store_true", help="send seq and boot with every reading, as the firmware does")
    parser.add_argument("--no-ceilings", action="store_true", help="skip the plain Flask and FastAPI ceilings")
    args = parser.parse_args()
    result = run(args)
    rows = []
    for name, run_result in (("thingsnxt ingest", result["ingest"]), *result["ceilings"].items()):
        errors = run_result["socket_errors"] + sum(c for s, c in run_result["statuses"].items() if not s.startswith("2"))
        rows.append((name, run_result["rps"], run_result["p50_us"] / 1000, run_result["p99_us"] / 1000, errors, run_result["generator_cpu_s"]))
    common.print_table(
        f"Ingest ({common.backend()}, {result['workers']} worker(s), {args.connections} connections, {args.devices} devices, {args.duration} s)",
        ["server", "req/s", "p50 ms", "p99 ms", "errors", "wrk CPU s"],
        rows,
    )
    if ceilings := result["ceilings"]:
        print(", ".join(f"ratio ingest/{name}: {result['ratio_to_' + name]}" for name in ceilings))
    print(f"server CPU {result['ingest_server_cpu_s']} s (warm-up included), worker RSS {result['worker_rss_mib']} MiB")
    print(f"readings acknowledged {result['readings_acknowledged']}, stored {result['readings_stored']}, lost {result['acknowledged_readings_lost']}")
    print("results:", common.write_result("ingest", result))


if __name__ == "__main__":
    main()
