"""Two app instances (standing in for two hosts) behind the real nginx, sharing PostgreSQL and Redis.

Both CI runs use them: the instances need PostgreSQL and Redis whatever the
suite's own database is, so the deployment gets a PostgreSQL database of its
own on the machine's server (dropped afterwards) and Redis keys under a prefix
of its own.
"""
import os
import uuid

import psycopg
import pytest
import redis

from tests.conftest import settings_for_tests
from tests.databases import uses_postgresql
from tests.deploy.proxy import NGINX, Nginx
from tests.live_server import LiveServer

POSTGRESQL_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_SERVER = "redis://127.0.0.1:6379/0"
# What deploy/thingsnxt.env.template sets for production that changes behaviour behind nginx.
PRODUCTION_SETTINGS = {"TRUSTED_PROXIES": "1", "PREFERRED_URL_SCHEME": "https", "PRESENCE_SWEEP_INTERVAL": "1", "RATELIMIT_LOGIN": "8 per 60 seconds"}


def _server_url():
    return os.environ["DATABASE_URL"] if uses_postgresql() else POSTGRESQL_SERVER


def _admin_connection():
    return psycopg.connect(_server_url().replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@pytest.fixture(scope="module")
def shared_database():
    name = f"thingsnxt_deploy_{uuid.uuid4().hex[:12]}"
    try:
        with _admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {_server_url()}: {exc}")
    yield _server_url().rsplit("/", 1)[0] + "/" + name
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def shared_redis():
    url = os.environ.get("REDIS_URL") or REDIS_SERVER
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")
    return url


class Deployment:
    """nginx at `url` in front of instances `a` and `b`."""

    def __init__(self, nginx, a, b):
        self.nginx, self.a, self.b = nginx, a, b
        self.url = nginx.url
        self.certificate = nginx.certificate

    def instance_on(self, port):
        return {self.a.port: self.a, self.b.port: self.b}[port]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, shared_database, shared_redis):
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed (make nginx)")
    # One configuration for both, as one environment file copied to both hosts.
    settings = settings_for_tests(shared_database) | {"REDIS_URL": shared_redis} | PRODUCTION_SETTINGS
    instances = []
    nginx = None
    try:
        for name in ("a", "b"):
            instances.append(LiveServer(tmp_path_factory.mktemp(f"instance-{name}"), settings, database_url=shared_database).start())
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), [instance.port for instance in instances])
        yield Deployment(nginx, *instances)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            instance.close()

