"""History queries at scale: 10 million readings, then the chart queries, on SQLite and PostgreSQL.

Generates a month of readings every 10 s of 3 keys on each of 13 devices —
13 × 3 × 259,200 = 10,108,800 readings — in a database of its own (a
temporary SQLite file, or a PostgreSQL database created and dropped by this
script), with the schema the migrations make, inserted in time order as
devices send them (so a key's readings are interleaved with every other
key's). Then it times, through the same service call the API makes
(`history.read_history`), for one device and key:

- 24 hours in 1-minute buckets (1,440 buckets over 8,640 readings)
- 7 days in 1-hour buckets (168 buckets over 60,480 readings)
- 1 hour of raw points (360 readings)

each cold (a new connection, the operating system's cache of the database
files dropped with posix_fadvise, a device not read before; PostgreSQL's
shared_buffers cannot be emptied from outside and is not) and warm (the same
query again), as the median of --runs runs; and a CSV export of one key's
whole month (259,200 rows). Goal: under 100 ms for each chart query.

(1,000 devices × 3 keys × a month at 10 s would be 777.6 million readings,
about 45 GB on SQLite and 180 GB on PostgreSQL. A query's cost depends on the readings of its key
in its window and the depth of the index, not on how many other devices
there are: --devices scales the table to check that.)

    python bench/history_bench.py                       # both databases
    python bench/history_bench.py --engine sqlite --devices 40
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/history_bench.py --engine postgresql
"""
import argparse
import functools
import glob
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.config import database_url  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.services.history import export as history_export
from webapp.services.history import query as history  # noqa: E402

STEP_MS = 10_000
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
KEYS = ["temperature", "humidity", "v0"]
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# One statement per day of data, time-major like live traffic: every device's readings of a step, then the next step.
SQLITE_DAY = """
INSERT INTO readings (device_id, key, ts_ms, num, value)
WITH RECURSIVE steps(ts) AS (SELECT :start UNION ALL SELECT ts + :step FROM steps WHERE ts + :step < :end),
samples AS (
    SELECT d.id AS device_id, k.key AS key, steps.ts AS ts_ms,
           CASE k.n WHEN 0 THEN 15.0 + ((d.n * 37 + steps.ts / :step) % 200) / 10.0
                    WHEN 1 THEN 30.0 + ((d.n * 11 + steps.ts / :step) % 400) / 10.0
                    ELSE (d.n + steps.ts / :step / 360) % 2 END AS num
    FROM steps CROSS JOIN bench_devices d CROSS JOIN bench_keys k
)
SELECT device_id, key, ts_ms, num, CASE WHEN key = 'v0' THEN CAST(CAST(num AS INTEGER) AS TEXT) ELSE CAST(num AS TEXT) END
FROM samples
"""

POSTGRES_DAY = """
INSERT INTO readings (device_id, key, ts_ms, num, value)
SELECT device_id, key, ts_ms, num, CASE WHEN key = 'v0' THEN (num::int)::text ELSE num::text END
FROM (
    SELECT d.id AS device_id, k.key AS key, steps.ts AS ts_ms, d.n AS dn, k.n AS kn,
           CASE k.n WHEN 0 THEN 15.0 + ((d.n * 37 + steps.ts / %(step)s) %% 200) / 10.0
                    WHEN 1 THEN 30.0 + ((d.n * 11 + steps.ts / %(step)s) %% 400) / 10.0
                    ELSE (d.n + steps.ts / %(step)s / 360) %% 2 END::double precision AS num
    FROM generate_series(%(start)s::bigint, %(end)s::bigint - 1, %(step)s::bigint) AS steps(ts)
    CROSS JOIN bench_devices d CROSS JOIN bench_keys k
) samples
ORDER BY ts_ms, dn, kn
"""


class Bench:
    """One database: created, migrated, filled, measured, removed."""

    def __init__(self, engine, devices, days):
        self.engine, self.devices, self.days = engine, devices, days
        self.end_ms = (time.time_ns() // 1_000_000) // STEP_MS * STEP_MS
        self.start_ms = self.end_ms - days * DAY_MS
        self.device_ids = [f"{n:024x}" for n in range(1, devices + 1)]
        self.series_read = 0
        if engine == "sqlite":
            self.tmp_dir = tempfile.mkdtemp(prefix="history-bench-")
            self.path = os.path.join(self.tmp_dir, "bench.sqlite3")
            self.url = "sqlite:///" + self.path
        else:
            self.name = f"thingsnxt_bench_{uuid.uuid4().hex[:8]}"
            with _postgres_admin() as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + self.name
        self.app = create_app({"DATABASE_URL": self.url, "RATELIMIT_ENABLED": False})
        with self.app.app_context():
            flask_migrate.upgrade()

    def close(self):
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        if self.engine == "sqlite":
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        else:
            with _postgres_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    # Data

    def load(self):
        started = time.perf_counter()
        if self.engine == "sqlite":
            self._load_sqlite()
        else:
            self._load_postgresql()
        return time.perf_counter() - started

    def _owner_and_devices(self, execute):
        execute(
            "INSERT INTO users (id, email, password_hash, is_admin, created_ms) VALUES (1, 'bench@example.com', '-', false, 0)"
        )
        for n, device_id in enumerate(self.device_ids):
            execute(
                "INSERT INTO devices (id, owner_id, name, token_hash, token_prefix, status, presence_claim, offline_timeout,"
                " disabled, denied_count, state_version, created_ms)"
                f" VALUES ('{device_id}', 1, 'bench {n}', '{device_id}', 'x', 'offline', 0, 60, false, 0, 0, 0)"
            )

    def _load_sqlite(self):
        import sqlite3

        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")
        connection.execute("BEGIN")
        self._owner_and_devices(connection.execute)
        connection.execute("CREATE TEMP TABLE bench_devices (n INTEGER, id TEXT)")
        connection.executemany("INSERT INTO bench_devices VALUES (?, ?)", enumerate(self.device_ids))
        connection.execute("CREATE TEMP TABLE bench_keys (n INTEGER, key TEXT)")
        connection.executemany("INSERT INTO bench_keys VALUES (?, ?)", enumerate(KEYS))
        connection.execute("COMMIT")
        for day in range(self.days):
            start = self.start_ms + day * DAY_MS
            connection.execute("BEGIN")
            connection.execute(SQLITE_DAY, {"start": start, "end": start + DAY_MS, "step": STEP_MS})
            connection.execute("COMMIT")
            _progress(day + 1, self.days)
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()

    def _load_postgresql(self):
        with psycopg.connect(self.url, autocommit=True) as connection:
            # Foreign-key triggers off while loading: the devices are known to exist.
            connection.execute("SET session_replication_role = replica")
            self._owner_and_devices(connection.execute)
            connection.execute("CREATE TEMP TABLE bench_devices (n int, id text)")
            with connection.cursor().copy("COPY bench_devices (n, id) FROM STDIN") as copy:
                for row in enumerate(self.device_ids):
                    copy.write_row(row)
            connection.execute("CREATE TEMP TABLE bench_keys (n int, key text)")
            connection.execute("INSERT INTO bench_keys VALUES " + ", ".join(f"({n}, '{key}')" for n, key in enumerate(KEYS)))
            for day in range(self.days):
                start = self.start_ms + day * DAY_MS
                connection.execute(POSTGRES_DAY, {"start": start, "end": start + DAY_MS, "step": STEP_MS})
                _progress(day + 1, self.days)
            # What autovacuum does to an insert-only table (PostgreSQL 13+): statistics and the visibility map.
            connection.execute("VACUUM ANALYZE readings")
            connection.execute("CHECKPOINT")

    def size_bytes(self):
        if self.engine == "sqlite":
            return sum(os.path.getsize(path) for path in glob.glob(self.path + "*"))
        with self.app.app_context():
            return db.session.scalar(text("SELECT pg_total_relation_size('readings')"))

    def row_count(self):
        with self.app.app_context():
            return db.session.scalar(text("SELECT count(*) FROM readings"))

    # Measuring

    def measure(self, window, runs):
        """Median ms of read_history for `window` (ending at the newest data): cold, cached and warm.

        cold: a new connection, the OS cache of the database files dropped, a series not read before;
        cached: a new connection, the files in the OS cache, a series not read before;
        warm: the same query again.
        """
        timings = {"cold": [], "cached": [], "warm": []}
        with self.app.app_context():
            for _ in range(runs):
                device_id, key = self._unread_series()
                self._new_connection(drop_os_cache=True)
                timings["cold"].append(_time_ms(functools.partial(history.read_history, device_id, key, window)))
            self._read_files_into_os_cache()
            for _ in range(runs):
                device_id, key = self._unread_series()
                self._new_connection()
                timings["cached"].append(_time_ms(functools.partial(history.read_history, device_id, key, window)))
            history.read_history(device_id, key, window)
            for _ in range(runs):
                timings["warm"].append(_time_ms(functools.partial(history.read_history, device_id, key, window)))
            db.session.remove()
        return {mode: statistics.median(samples) for mode, samples in timings.items()}

    def export(self):
        """(seconds, rows, peak MiB of Python memory) to produce the CSV of one key's whole history."""
        window = history.Window(self.start_ms, self.end_ms)
        with self.app.app_context():
            device_id, key = self._unread_series()
            started = time.perf_counter()
            rows = sum(chunk.count("\n") for chunk in history_export.csv_chunks(device_id, key, window)) - 1
            seconds = time.perf_counter() - started
            # Again under tracemalloc (which slows it down): the peak shows the export streams.
            tracemalloc.start()
            for _ in history_export.csv_chunks(device_id, key, window):
                pass
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            db.session.remove()
        return seconds, rows, peak / 2**20

    def versions(self):
        with self.app.app_context():
            sqlite = self.engine == "sqlite"
            version = db.session.scalar(text("SELECT sqlite_version()" if sqlite else "SELECT version()"))
            version = "SQLite " + version if sqlite else version.split(" on ")[0]
            db.session.remove()
        return version

    def explain(self, window):
        """The database's plan for the bucket query, to see which index it walks."""
        query = history._buckets_query(self.device_ids[0], "temperature", window.start_ms, window.end_ms, window.bucket_ms)
        with self.app.app_context():
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if self.engine == "sqlite" else "EXPLAIN "
            lines = [" ".join(str(part) for part in row) for row in db.session.execute(text(prefix + str(compiled)))]
            db.session.remove()
        return lines

    def _unread_series(self):
        """A (device, key) not read yet, while there are any: PostgreSQL's shared_buffers would keep what was."""
        series = [(device_id, key) for key in KEYS for device_id in self.device_ids]
        if self.series_read == len(series):
            print("  (every series has been read: later samples reuse them)")
        device_id, key = series[self.series_read % len(series)]
        self.series_read += 1
        return device_id, key

    def _new_connection(self, drop_os_cache=False):
        db.session.remove()
        db.engine.dispose()
        if not drop_os_cache:
            return
        for path in self._database_files():
            with open(path, "rb") as file:
                os.fsync(file.fileno())
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)

    def _read_files_into_os_cache(self):
        for path in self._database_files():
            with open(path, "rb") as file:
                while file.read(1 << 20):
                    pass

    def _database_files(self):
        if self.engine == "sqlite":
            return glob.glob(self.path + "*")
        with self.app.app_context():
            data_dir = db.session.scalar(text("SHOW data_directory"))
            relations = db.session.scalars(
                text(
                    "SELECT pg_relation_filepath(c.oid) FROM pg_class c"
                    " WHERE c.relname = 'readings' OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'readings'::regclass)"
                )
            ).all()
            db.session.remove()
        return [path for relation in relations for path in glob.glob(os.path.join(data_dir, relation) + "*")]


def _postgres_admin():
    url = database_url(POSTGRES_URL, "").replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _time_ms(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _load_average():
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


def _progress(done, total):
    print(f"\r  loaded {done}/{total} days", end="\n" if done == total else "", flush=True)


def run(engine, args):
    print(f"== {engine}: {args.devices} devices × {len(KEYS)} keys × {args.days} days at {STEP_MS // 1000} s")
    bench = Bench(engine, args.devices, args.days)
    try:
        print(f"  {bench.versions()}; load average {_load_average()}")
        load_seconds = bench.load()
        rows = bench.row_count()
        print(f"  {rows:,} readings in {load_seconds:.0f} s; {bench.size_bytes() / 2**20:,.0f} MiB with indexes")
        end = bench.end_ms
        cases = [
            ("24 h in 1-minute buckets", history.Window(end - DAY_MS, end, 60_000)),
            ("7 days in 1-hour buckets", history.Window(end - 7 * DAY_MS, end, HOUR_MS)),
            ("1 hour of raw points", history.Window(end - HOUR_MS, end)),
        ]
        results = []
        for label, window in cases:
            medians = bench.measure(window, args.runs)
            results.append((label, medians))
            print(
                f"  {label}: cold {medians['cold']:.1f} ms, cached {medians['cached']:.1f} ms, warm {medians['warm']:.1f} ms"
                f" (medians of {args.runs}; load average {_load_average()})"
            )
        export_seconds, export_rows, export_peak = bench.export()
        print(
            f"  CSV export of one key's {args.days} days: {export_rows:,} rows in {export_seconds:.2f} s"
            f" ({export_rows / export_seconds:,.0f} rows/s), peak Python memory {export_peak:.1f} MiB"
        )
        if args.explain:
            print("  plan of the 24 h bucket query:")
            for line in bench.explain(cases[0][1]):
                print("    " + line)
        return {"engine": engine, "results": results}
    finally:
        bench.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--devices", type=int, default=13)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5, help="samples per query and mode (cold and cached each read a series of their own)")
    parser.add_argument("--explain", action="store_true", help="print the query plan of the 24 h bucket query")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    reports = [run(engine, args) for engine in engines]

    print("\n| database | query | cold (ms) | cached (ms) | warm (ms) |\n|---|---|---|---|---|")
    for report in reports:
        for label, medians in report["results"]:
            print(f"| {report['engine']} | {label} | {medians['cold']:.1f} | {medians['cached']:.1f} | {medians['warm']:.1f} |")

if __name__ == "__main__":
    main()
