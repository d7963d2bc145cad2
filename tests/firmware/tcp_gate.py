"""A TCP relay with a gate, in front of the broker: while shut, connections are accepted and closed at once (the
device sees its connection refused by the network), so a test decides when the device may reach the broker again.
With `answers_pass` false, what the broker sends is swallowed: the device's messages arrive, their PUBACKs (and the
platform's receipts) do not."""
import contextlib
import socket
import threading


class TcpGate:
    """Relays 127.0.0.1:<port> to `upstream_port` while open."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.is_open = True
        self.answers_pass = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port)) if self.is_open else None
            except OSError:
                upstream = None
            if upstream is None:
                client.close()
                continue
            threading.Thread(target=_pipe, args=(client, upstream, lambda: True), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client, lambda: self.answers_pass), daemon=True).start()


def _pipe(source, sink, passes):
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if passes():
                sink.sendall(data)
    for end in (source, sink):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
