"""A backup of the whole database, and putting one back (docs/DEPLOYMENT.md, "Backups").

SQLite: its online backup API copies the database in one step from a read
transaction, so the copy is the database as of one moment while the server
keeps writing (WAL lets readers run beside the writer). PostgreSQL: pg_dump's
custom format, itself one snapshot, and pg_restore. A backup is written next
to PATH and renamed into place, so PATH never holds half a backup.
"""
import contextlib
import os
import sqlite3
import subprocess
import urllib.parse

from webapp.extensions import db


class BackupFailed(Exception):
    """A backup or restore that did not happen; the message says why (for `flask db backup` / `restore`)."""


def backup(path):
    """Write a backup of the application's database to `path`; returns the backend's name."""
    url = db.engine.url
    partial = f"{path}.partial"
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_read_only(url.database), partial)
        else:
            _run_postgresql("pg_dump", url, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return url.get_backend_name()


def restore(path):
    """Replace every table of the application's database with the backup at `path`. Stop the servers first."""
    if not os.path.isfile(path):
        raise BackupFailed(f"No backup at {path}.")
    url = db.engine.url
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        _sqlite_copy(_read_only(path), url.database)
    else:
        _run_postgresql(
            "pg_restore", url, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", path
        )
    return url.get_backend_name()


def _sqlite_copy(source_uri, target_path):
    try:
        with contextlib.closing(sqlite3.connect(source_uri, uri=True)) as source, contextlib.closing(sqlite3.connect(target_path)) as target:
            source.backup(target)
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite backup to {target_path} failed: {exc}.") from None


def _check_sqlite_backup(path):
    try:
        with contextlib.closing(sqlite3.connect(_read_only(path), uri=True)) as backup_db:
            backup_db.execute("SELECT count(*) FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise BackupFailed(f"{path} is not a SQLite backup of ThingsNXT ({exc}).") from None


def _read_only(path):
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"


def _run_postgresql(program, url, *args):
    # The password goes in the environment, never on a command line that `ps` shows.
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        finished = subprocess.run([program, f"--dbname={conninfo}", *args], env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupFailed(f"{program} is not installed (Debian: apt-get install postgresql-client).") from None
    if finished.returncode != 0:
        raise BackupFailed(f"{program} failed: {finished.stderr.strip()}")
