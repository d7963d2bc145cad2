"""A real HTTP receiver on loopback for webhook tests: records every request, can fail, hold or go down."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.live_server import free_port

HOLD_LIMIT = 60


class Received:
    def __init__(self, path, headers, body):
        self.path, self.headers, self.body = path, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def delivery_id(self):
        return self.headers["X-ThingsNXT-Delivery"]

    @property
    def event(self):
        return self.headers["X-ThingsNXT-Event"]


class Receiver:
    """`start()` / `stop()` keep the port; `status` is what it answers; `hold()` keeps requests waiting."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.status = 200
        self.requests = []
        self._changed = threading.Condition()
        self._release = threading.Event()
        self._release.set()
        self._server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    receiver._changed.notify_all()
                receiver._release.wait(HOLD_LIMIT)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=f"receiver-{self.port}", daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def hold(self):
        """Keep requests from now on waiting (they are recorded at once) until `release()`."""
        self._release.clear()

    def release(self):
        self._release.set()

    def received(self, device_id=None, event=None):
        with self._changed:
            return [
                r
                for r in self.requests
                if (device_id is None or r.json.get("device_id") == device_id) and (event is None or r.event == event)
            ]

    def wait_for(self, condition, timeout=15, what="the expected requests"):
        """Wait until `condition(requests)` holds; AssertionError naming `what` after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(list(self.requests)), timeout):
                raise AssertionError(f"receiver did not get {what} within {timeout} s; got {len(self.requests)} requests")
