"""gunicorn settings: gevent workers, bind address and worker count from webapp/config.py."""
import importlib.util
import os
import shutil
import sys
import tempfile

# Loaded by path, not imported as webapp.config: importing the package here
# would load psycopg in the master before gevent patches the workers.
_spec = importlib.util.spec_from_file_location("_thingsnxt_config", os.path.join(os.path.dirname(__file__), "webapp", "config.py"))
_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_config)
settings = _config.Config.from_environment()

bind = f"{settings['HOST']}:{settings['PORT']}"
workers = settings["WEB_CONCURRENCY"]
worker_class = "gevent_pywsgi"
worker_connections = settings["WORKER_CONNECTIONS"]
graceful_timeout = 30
accesslog = None
errorlog = "-"


def on_starting(server):
    if server.cfg.workers > 1 and not settings["REDIS_URL"]:
        sys.exit(
            "Refusing to start %d workers without REDIS_URL: rate limits, live updates and long-polls "
            "must be shared between worker processes. Set REDIS_URL or use WEB_CONCURRENCY=1." % server.cfg.workers
        )
    # Every worker writes its metrics here; /metrics sums them (prometheus_client multiprocess mode).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="thingsnxt-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)


def post_worker_init(worker):
    from webapp.background import start_background_tasks

    start_background_tasks(worker.wsgi, worker_alive=lambda: worker.alive)
