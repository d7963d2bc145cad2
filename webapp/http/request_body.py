"""Reading a JSON request body the way ESP32 clients send it.

Only gzip is undone (ESP32 clients send nothing else); any other Content-Encoding is 415.
Size is checked first, as the body arrives (a body too large is not read,
so it is 413 whatever it holds); then gzip is undone within the same limit;
then the bytes are validated against the pydantic model, whatever the
Content-Type says, since ESP32 HTTP clients often omit it.
"""
import zlib

from pydantic import ValidationError
from werkzeug.wsgi import get_content_length, get_input_stream

from webapp.core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType, shown

MAX_REPORTED_ERRORS = 3


def parse_body(model, max_bytes, environ):
    """The body of the WSGI request `environ` validated as `model`; InvalidRequest or PayloadTooLarge otherwise."""
    encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        # Read as identity, a compressed body would be refused as bad JSON, or worse, taken as it is.
        raise UnsupportedMediaType("Content-Encoding: only gzip (or none) is accepted.")
    raw = _read_limited(environ, max_bytes)
    if encoding == "gzip":
        raw = _gunzip_limited(raw, max_bytes)
    if not raw.strip():
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None


def describe_validation_error(exc):
    """The first few problems, naming fields but never echoing input (it may hold a token)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False)[:MAX_REPORTED_ERRORS]:
        location = ".".join(shown(part) for part in error["loc"] if not _is_union_branch(part))
        problems.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(problems)


def _is_union_branch(part):
    # pydantic names each branch of a union it tried ("data.v0.int"); the field is what matters.
    return isinstance(part, str) and (part in ("bool", "int", "float", "str") or part.startswith(("constrained-", "function-")))


def bearer_token(environ):
    """The token of an `Authorization: Bearer …` header of the WSGI request `environ`, or None."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _read_limited(environ, max_bytes):
    content_length = get_content_length(environ)
    if content_length is not None and content_length > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    raw = get_input_stream(environ).read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    return raw


def _gunzip_limited(raw, max_bytes):
    inflater = zlib.decompressobj(wbits=31)
    try:
        body = inflater.decompress(raw, max_bytes + 1)
    except zlib.error:
        raise InvalidRequest("The body says Content-Encoding: gzip but is not gzip data.") from None
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes once unzipped.")
    if not inflater.eof:
        raise InvalidRequest("The gzip body is truncated.")
    return body
