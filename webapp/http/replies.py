"""Answers as the API sends them: a response model (schemas/) encoded once, to Flask or to bare WSGI.

Every JSON body the API sends is a pydantic response model, encoded here
with its own serializer (aliases used, fields left unset left out). The
device routes answer with a `Reply`, which the fast path
(device_api/fast_path.py) and Flask's dispatch turn into the same bytes.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from pydantic import BaseModel
from werkzeug.http import HTTP_STATUS_CODES


@dataclass
class Streamed:
    """A body sent a chunk at a time as it is read (a firmware image): `length` bytes in all."""

    chunks: Iterable[bytes]
    length: int


@dataclass
class Reply:
    status: int
    # None: no body (a 304, a 204, a vendor's empty success); bytes: sent as they are, typed by `headers`
    # (a vendor's bare text answer); Streamed: likewise, read as it is sent.
    body: BaseModel | bytes | Streamed | None = None
    headers: list | tuple = ()


def encode(model):
    """The JSON bytes of a response model."""
    return type(model).__pydantic_serializer__.to_json(model, by_alias=True, exclude_unset=True)


def json_response(model, status=200):
    """A Flask response whose body is the response model `model`."""
    return flask_response(Reply(status, model))


def flask_response(reply):
    headers = list(reply.headers)
    payload = _encode(reply, headers)
    response = current_app.response_class(payload, status=reply.status)
    # Flask's response class would add its own Content-Type: the headers here are the whole answer's.
    response.headers.clear()
    response.headers.extend(headers)
    return response


def wsgi_answer(reply, start_response):
    """Send `reply` through a WSGI `start_response`; the iterable body."""
    headers = list(reply.headers)
    payload = _encode(reply, headers)
    start_response(f"{reply.status} {HTTP_STATUS_CODES[reply.status]}", headers)
    if isinstance(reply.body, Streamed):
        return payload
    return [payload] if payload else []


def _encode(reply, headers):
    if reply.body is None:
        return b""
    if isinstance(reply.body, Streamed):
        headers.append(("Content-Length", str(reply.body.length)))
        return reply.body.chunks
    if isinstance(reply.body, bytes):
        headers.append(("Content-Length", str(len(reply.body))))
        return reply.body
    payload = encode(reply.body)
    headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    return payload
