"""A TCP listener on 127.0.0.1 (a free port) in front of a local service, for the relays the firmware tests put
between the device and the server or broker: each connection is served in a thread of its own."""
import socket
import threading


class Relay:
    """Listens on 127.0.0.1:<port>; subclasses serve each connection in `_serve(client)`, towards `upstream_port`."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
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
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()
