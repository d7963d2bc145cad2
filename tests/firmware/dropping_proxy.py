"""A TCP proxy in front of the server that cuts one firmware download mid-answer, as a dropped WiFi link would,
and records the Range of every firmware request and the bytes it passed on."""
import contextlib
import re
import socket
import threading

from tests.firmware.relay import Relay

FIRMWARE_REQUEST = re.compile(rb"^GET /devices/[^/ ]+/firmware/[0-9a-f]{64}[ ?]")
RANGE = re.compile(rb"\r\nRange: bytes=(\d+)-(\d+)\r\n", re.IGNORECASE)


class DroppingProxy(Relay):
    """Forwards 127.0.0.1:<port> to `upstream_port`; the answer to firmware request number `cut_request` (from 1) is cut
    after `cut_after` bytes, its connection closed."""

    def __init__(self, upstream_port, cut_request, cut_after):
        self.cut_request, self.cut_after = cut_request, cut_after
        self.ranges = []  # (first, last) of each firmware request, in order
        self.lock = threading.Lock()
        super().__init__(upstream_port)
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        budget = {"left": None}
        threading.Thread(target=self._answers, args=(upstream, client, budget), daemon=True).start()
        try:
            while data := client.recv(65536):
                match = FIRMWARE_REQUEST.match(data)
                if match:
                    requested = RANGE.search(data)
                    with self.lock:
                        self.ranges.append((int(requested[1]), int(requested[2])) if requested else None)
                        if len(self.ranges) == self.cut_request:
                            budget["left"] = self.cut_after
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream, client)

    def _answers(self, upstream, client, budget):
        try:
            while data := upstream.recv(65536):
                left = budget["left"]
                if left is not None:
                    client.sendall(data[:left])
                    budget["left"] = left - len(data)
                    if budget["left"] <= 0:
                        break
                    continue
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(upstream, client)


def _close(*sockets):
    for each in sockets:
        with contextlib.suppress(OSError):
            each.shutdown(socket.SHUT_RDWR)
        each.close()
