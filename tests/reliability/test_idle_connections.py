"""A stopping worker closes the kept-alive connections that wait for nothing, and only those.

gevent sockets, as in the server: shutting one down cancels the read its
handler is blocked in, even when the next request has already arrived.
"""
import gevent
from gevent import socket

from webapp.workers.shutdown import IdleConnections

REQUEST = b"GET /telemetry/latest?wait=30 HTTP/1.1\r\n\r\n"


class WaitingHandler:
    """Stands for a pywsgi handler blocked in read_requestline: what IdleConnections sees of one."""

    def __init__(self, sock):
        self.socket = sock


def waiting_connection():
    """(the client's socket, what the handler read, the handler's greenlet), the handler waiting for a request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server_side, _ = listener.accept()
    listener.close()
    read = []
    reader = gevent.spawn(lambda: read.append(server_side.recv(len(REQUEST))))
    gevent.sleep(0)  # the reader is now blocked in recv
    return client, server_side, read, reader


def test_a_connection_with_nothing_sent_is_ended():
    client, server_side, read, reader = waiting_connection()
    idle = IdleConnections()
    idle._idle.add(WaitingHandler(server_side))

    idle.close()

    reader.join(timeout=5)
    assert read != [REQUEST] and reader.dead
    client.close(), server_side.close()


def test_a_request_that_arrived_before_the_stop_is_left_to_be_answered():
    client, server_side, read, reader = waiting_connection()
    idle = IdleConnections()
    idle._idle.add(WaitingHandler(server_side))
    client.sendall(REQUEST)  # arrives; the handler has not been resumed to read it yet

    idle.close()

    reader.join(timeout=5)
    assert read == [REQUEST]
    client.close(), server_side.close()
