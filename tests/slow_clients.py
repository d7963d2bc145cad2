"""A flood of slow clients from one loopback address, for tests/reliability/test_connection_flood.py and bench/flood_bench.py.

Every connection comes from FLOOD_ADDRESS (127.0.0.2: Linux routes all of 127/8 to
loopback), so the server tells it from the legitimate clients on 127.0.0.1. Each
sends the start of a request and then a byte at a time, never finishing its headers
(slowloris).
"""
import contextlib
import resource
import selectors
import socket
import time

FLOOD_ADDRESS = "127.0.0.2"
REQUEST_START = b"GET /health HTTP/1.1\r\nHost: flood\r\nX-Slow: "


def allow_open_files(count):
    """Raise this process's open-file limit to hold `count` sockets (and its children's: a server started after inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise RuntimeError(f"the open-file limit (hard {hard}) cannot hold {count} connections")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class SlowClients:
    """`count` connections to `port` from FLOOD_ADDRESS, each having sent the start of a request and nothing more."""

    def __init__(self, port, count):
        self.opened_at = time.monotonic()
        self.open = {}
        self.closed_after = []  # seconds from opening to the server closing each connection
        self.selector = selectors.DefaultSelector()
        for _ in range(count):
            sock = socket.socket()
            sock.bind((FLOOD_ADDRESS, 0))
            sock.connect(("127.0.0.1", port))
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.send(REQUEST_START)
            self.open[sock.fileno()] = sock
            self.selector.register(sock, selectors.EVENT_READ)

    def trickle_until_closed(self, deadline_seconds, interval=0.5):
        """Send one more header byte on every open connection each `interval` until the server has closed them all or the deadline passes."""
        deadline = self.opened_at + deadline_seconds
        next_trickle = time.monotonic() + interval
        while self.open and time.monotonic() < deadline:
            for key, _ in self.selector.select(timeout=max(0.0, min(next_trickle, deadline) - time.monotonic())):
                self._note_closed(key.fileobj)
            if time.monotonic() >= next_trickle:
                for sock in list(self.open.values()):
                    try:
                        sock.send(b"a")
                    except OSError:
                        self._note_closed(sock)
                next_trickle += interval
        return len(self.open)

    def _note_closed(self, sock):
        try:
            if sock.recv(4096):
                return  # an answer (503 or 408); the close follows
        except BlockingIOError:
            return
        except OSError:
            pass
        self.closed_after.append(time.monotonic() - self.opened_at)
        self.selector.unregister(sock)
        del self.open[sock.fileno()]
        sock.close()

    def close(self):
        for sock in self.open.values():
            self.selector.unregister(sock)
            sock.close()
        self.open.clear()
        self.selector.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
