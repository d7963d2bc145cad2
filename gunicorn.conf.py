"""gunicorn settings: gevent workers, bind address and worker count from webapp/config.py."""
import gc
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile

# Loaded by path, not imported as webapp.config: importing the package here
# would load psycopg in the master before gevent patches the workers.
ROOT = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("_thingsnxt_config", os.path.join(ROOT, "webapp", "config.py"))
_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_config)
settings = _config.Config.from_environment()

bind = f"{settings['HOST']}:{settings['PORT']}"
workers = settings["WEB_CONCURRENCY"]
worker_class = "gevent_pywsgi"
worker_connections = settings["WORKER_CONNECTIONS"]
graceful_timeout = settings["GRACEFUL_TIMEOUT"]
accesslog = None
errorlog = "-"


def on_starting(server):
    if server.cfg.workers > 1 and not settings["REDIS_URL"]:
        sys.exit(
            f"Refusing to start {server.cfg.workers} workers without REDIS_URL: rate limits, live updates and long-polls "
            "must be shared between worker processes. Set REDIS_URL or use WEB_CONCURRENCY=1."
        )
    # Every worker writes its metrics here; /metrics sums them (prometheus_client multiprocess mode).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="thingsnxt-metrics-")


def when_ready(server):
    # The demo's simulated device (scripts/demo_device.py) starts with the server, once it listens.
    if settings["DEMO_DEVICE"]:
        host = "127.0.0.1" if settings["HOST"] in ("0.0.0.0", "::", "") else settings["HOST"]
        host = f"[{host}]" if ":" in host else host
        # Where webapp/services/demo.py keeps the demo device's credentials by default: the instance folder.
        credentials = settings["DEMO_DEVICE_FILE"] or os.path.join(ROOT, "instance", "demo-device.json")
        server.demo_device = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "scripts", "demo_device.py"), "--url", f"http://{host}:{settings['PORT']}", "--credentials", credentials]
        )
        server.log.info("demo device simulator started (pid %d)", server.demo_device.pid)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)
    # ... and stops with it.
    demo_device = getattr(server, "demo_device", None)
    if demo_device is not None:
        demo_device.terminate()
        demo_device.wait(timeout=10)


def post_worker_init(worker):
    import gevent

    from webapp.http import connection_guard
    from webapp.workers import shutdown
    from webapp.workers.background import start_background_tasks

    start_background_tasks(worker.wsgi)
    # Everything loaded so far (modules, the app, SQLAlchemy's and pydantic's schemas: about
    # 120,000 objects) lives as long as the worker: out of the collector's way, each collection
    # looks only at what requests made (ingest p99 halved, bench/README.md).
    gc.freeze()
    # Behind a proxy every connection has the proxy's address: the proxy limits clients instead.
    max_per_address = 0 if settings["TRUSTED_PROXIES"] else settings["MAX_CONNECTIONS_PER_ADDRESS"]
    worker.wsgi_handler = connection_guard.handler_class(
        worker.wsgi_handler, max_per_address, settings["REQUEST_HEADER_TIMEOUT"], settings["REQUEST_BODY_TIMEOUT"]
    )
    idle_connections = shutdown.IdleConnections()
    worker.wsgi_handler = idle_connections.handler_class(worker.wsgi_handler)
    # gunicorn's SIGTERM handler only flags the worker to stop accepting; first release what waits
    # (in a greenlet of its own: a signal handler may interrupt the hub, which must not block).
    flag_exit = worker.handle_exit

    def handle_term(sig, frame):
        gevent.spawn(shutdown.begin, worker.wsgi, idle_connections)
        flag_exit(sig, frame)

    signal.signal(signal.SIGTERM, handle_term)


def worker_exit(server, worker):
    # gunicorn also calls this in the master for a worker that died; the master never loads the app.
    if worker.pid != os.getpid():
        return
    from webapp.workers import shutdown

    shutdown.finish(worker.wsgi)
