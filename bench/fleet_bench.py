"""Fleet: N simulated devices (telemetry every 10 s, a poll with ETag every 5 s, jittered),
paced at their real rate, N stepped up until p99 > 100 ms or any error.

    .venv/bin/python -m bench.fleet_bench [--steps 1000,2000,...] [--seconds 20]

Reports the largest N held, each step's figures, and the worker's RSS.
"""
import argparse
import os

from bench import common

SCRIPT = os.path.join(common.ROOT, "bench", "lua", "fleet.lua")
REQUESTS_PER_DEVICE_PER_SECOND = 0.3  # one telemetry per 10 s + one poll per 5 s
P99_LIMIT_MS = 100
THREADS = 2
WARM_UP_SECONDS = 12  # long enough for every device of the step to have posted once (telemetry every 10 s)


def run_step(server, devices_file, devices, seconds):
    rate = devices * REQUESTS_PER_DEVICE_PER_SECOND
    # Enough connections that each waits far longer between requests than a request takes.
    connections = max(THREADS * 4, min(2000, int(rate / 3)) // THREADS * THREADS)
    # The step's new devices come online during a warm-up (their first requests load them and notify
    # their owners), so the measured run sees the fleet in its steady state.
    common.wrk(server.url, SCRIPT, [devices_file, str(rate), str(THREADS), str(connections)], connections=connections, duration=WARM_UP_SECONDS, threads=THREADS)
    pids = server.worker_pids()
    cpu_before = sum(common.process_cpu_seconds(pid) for pid in pids)
    result = common.wrk(server.url, SCRIPT, [devices_file, str(rate), str(THREADS), str(connections)], connections=connections, duration=seconds, threads=THREADS)
    result["server_cpu_share"] = round((sum(common.process_cpu_seconds(pid) for pid in pids) - cpu_before) / seconds, 2)
    result["devices"] = devices
    result["target_rps"] = rate
    result["connections"] = connections
    result["errors"] = result["socket_errors"] + sum(count for status, count in result["statuses"].items() if status not in ("200", "304"))
    result["worker_rss_mib"] = [common.rss_mib(pid) for pid in pids]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="1000,2500,5000,7500,10000,12500,15000")
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    steps = [int(step) for step in args.steps.split(",")]
    server = common.start_thingsnxt()
    results, held = [], 0
    try:
        devices_file = common.write_devices_file(common.create_devices(server, max(steps)))
        with open(devices_file) as all_devices:
            lines = all_devices.readlines()
        for devices in steps:
            step_file = common.write_devices_file([line.split() for line in lines[:devices]])
            result = run_step(server, step_file, devices, args.seconds)
            os.unlink(step_file)
            results.append(result)
            ok = result["p99_us"] / 1000 < P99_LIMIT_MS and result["errors"] == 0
            print(f"{devices} devices: {result['rps']} req/s (target {result['target_rps']:.0f}), p99 {result['p99_us'] / 1000:.1f} ms, errors {result['errors']}")
            if not ok:
                break
            held = devices
        os.unlink(devices_file)
    finally:
        server.close()
    common.print_table(
        f"Fleet ({common.backend()}, {common.default_workers()} worker(s); p99 limit {P99_LIMIT_MS} ms)",
        ["devices", "req/s", "target", "p50 ms", "p99 ms", "errors", "server CPU", "wrk CPU s", "RSS MiB"],
        [
            (r["devices"], r["rps"], round(r["target_rps"]), r["p50_us"] / 1000, r["p99_us"] / 1000, r["errors"], r["server_cpu_share"], r["generator_cpu_s"], r["worker_rss_mib"])
            for r in results
        ],
    )
    print(f"largest fleet held: {held} devices")
    print("results:", common.write_result("fleet", {"largest_fleet_held": held, "p99_limit_ms": P99_LIMIT_MS, "steps": results}))


if __name__ == "__main__":
    main()
