"""A TCP relay with a gate, in front of the broker: while shut, connections are accepted and closed at once (the
device sees its connection refused by the network), so a test decides when the device may reach the broker again.
With `answers_pass` false, what the broker sends is swallowed: the device's messages arrive, their PUBACKs (and the
platform's receipts) do not."""
import contextlib
import socket
import threading

from tests.firmware.relay import Relay


class TcpGate(Relay):
    """Relays 127.0.0.1:<port> to `upstream_port` while open."""

    def __init__(self, upstream_port):
        self.is_open = True
        self.answers_pass = True
        super().__init__(upstream_port)

    def _serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port)) if self.is_open else None
        except OSError:
            upstream = None
        if upstream is None:
            client.close()
            return
        threading.Thread(target=_pipe, args=(client, upstream, lambda: True), daemon=True).start()
        _pipe(upstream, client, lambda: self.answers_pass)


def _pipe(source, sink, passes):
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if passes():
                sink.sendall(data)
    for end in (source, sink):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
