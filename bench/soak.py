"""Soak: a fixed simulated fleet (telemetry every 10 s, a poll with ETag every 5 s) for a long run,
sampling each worker's memory and the errors every minute, to show leaks and slow failures.

    .venv/bin/python -m bench.soak [--minutes 30] [--devices 2000]

The fleet is bench/lua/fleet.lua, run as back-to-back one-minute wrk runs so
each minute has its own figures. Reports the RSS growth of the workers
(first sample to last, and the fitted slope), errors per minute, worker
restarts, and writes bench/results/soak-<backend>.json. Not part of CI.
"""
import argparse
import os

from sqlalchemy import func, select

from bench import common
from bench.fleet_bench import REQUESTS_PER_DEVICE_PER_SECOND, SCRIPT, THREADS
from webapp.extensions import db
from webapp.models import Reading

SAMPLE_SECONDS = 60


def connections_for(rate):
    # As in the fleet benchmark: each connection waits far longer between requests than a request takes.
    return max(THREADS * 4, min(2000, int(rate / 3)) // THREADS * THREADS)


def run_minute(server, devices_file, devices, seconds):
    rate = devices * REQUESTS_PER_DEVICE_PER_SECOND
    connections = connections_for(rate)
    pids = server.worker_pids()
    cpu_before = sum(common.process_cpu_seconds(pid) for pid in pids)
    result = common.wrk(server.url, SCRIPT, [devices_file, str(rate), str(THREADS), str(connections)], connections=connections, duration=seconds, threads=THREADS)
    after = server.worker_pids()
    return {
        "rps": result["rps"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "statuses": result["statuses"],
        "errors": result["socket_errors"] + sum(count for status, count in result["statuses"].items() if status not in ("200", "304")),
        "worker_pids": after,
        "worker_rss_mib": [common.rss_mib(pid) for pid in after],
        "server_cpu_share": round((sum(common.process_cpu_seconds(pid) for pid in pids if pid in after) - cpu_before) / seconds, 2),
    }


def slope_per_minute(values):
    """Least-squares slope of evenly spaced samples (one a minute)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return round(numerator / sum((x - mean_x) ** 2 for x in range(n)), 3)


def readings_stored(server):
    with server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Reading))
        db.session.remove()
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--devices", type=int, default=2000)
    args = parser.parse_args()

    server = common.start_thingsnxt()
    minutes = []
    try:
        devices_file = common.write_devices_file(common.create_devices(server, args.devices))
        first_pids = server.worker_pids()
        start_rss = [common.rss_mib(pid) for pid in first_pids]
        for minute in range(1, args.minutes + 1):
            sample = run_minute(server, devices_file, args.devices, SAMPLE_SECONDS)
            sample["minute"] = minute
            minutes.append(sample)
            print(
                f"minute {minute}: {sample['rps']} req/s, p99 {sample['p99_ms']:.1f} ms, errors {sample['errors']}, "
                f"RSS {sample['worker_rss_mib']} MiB", flush=True,
            )
        readings = readings_stored(server)
        os.unlink(devices_file)
    finally:
        server.close()

    total_rss = [sum(sample["worker_rss_mib"]) for sample in minutes]
    restarts = sorted({pid for sample in minutes for pid in sample["worker_pids"]} - set(first_pids))
    summary = {
        "minutes": args.minutes,
        "devices": args.devices,
        "workers": common.default_workers(),
        "rss_before_load_mib": start_rss,
        "rss_first_minute_mib": total_rss[0],
        "rss_last_minute_mib": total_rss[-1],
        "rss_growth_mib": round(total_rss[-1] - total_rss[0], 1),
        "rss_growth_pct": round(100 * (total_rss[-1] - total_rss[0]) / total_rss[0], 1),
        "rss_slope_mib_per_minute": slope_per_minute(total_rss),
        "rss_max_mib": max(total_rss),
        "errors_total": sum(sample["errors"] for sample in minutes),
        "requests_total": sum(sample["rps"] * SAMPLE_SECONDS for sample in minutes),
        "worker_restarts": restarts,
        "readings_stored": readings,
    }
    common.print_table(
        f"Soak ({common.backend()}, {summary['workers']} worker(s), {args.devices} devices)",
        ["minute", "req/s", "p50 ms", "p99 ms", "errors", "server CPU", "RSS MiB"],
        [(s["minute"], s["rps"], s["p50_ms"], s["p99_ms"], s["errors"], s["server_cpu_share"], s["worker_rss_mib"]) for s in minutes],
    )
    print(
        f"\nRSS (all workers) {summary['rss_first_minute_mib']} → {summary['rss_last_minute_mib']} MiB "
        f"({summary['rss_growth_mib']:+} MiB, {summary['rss_growth_pct']:+}%; fitted {summary['rss_slope_mib_per_minute']:+} MiB/min); "
        f"errors {summary['errors_total']} of ~{summary['requests_total']} requests; worker restarts {len(restarts)}"
    )
    print("results:", common.write_result("soak", {**summary, "samples": minutes}))


if __name__ == "__main__":
    main()
