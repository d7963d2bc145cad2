"""The errors services raise: each knows its HTTP status and the API's error code.

A client sees `{"error": "<code>", "message": "<human text>"}` plus, for some
codes, a field naming what failed (a rule denial names its `rule`);
http/errors.py renders them, and maps every other exception. A message quotes
what the caller sent only through `shown` (docs/SECURITY.md: errors never echo input).
"""
import re

_SHOWABLE = re.compile(r"[A-Za-z0-9_.:@+ -]{1,40}")


def shown(text):
    """`text` as an error message may quote it: short and of harmless characters, else an ellipsis."""
    text = str(text)
    return text if _SHOWABLE.fullmatch(text) else "…"


class ApiError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message, *, headers=None, **fields):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.fields = fields

    def body(self):
        return {"error": self.code, "message": self.message, **self.fields}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class InvalidProvisioningKey(ApiError):
    status, code = 401, "invalid_provisioning_key"


class ProvisioningKeyExpired(ApiError):
    status, code = 403, "provisioning_key_expired"


class ProvisioningKeyUsedUp(ApiError):
    status, code = 403, "provisioning_key_used_up"


class InvalidToken(ApiError):
    status, code = 403, "invalid_token"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class RuleDenied(ApiError):
    status, code = 403, "rule_denied"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class RangeNotSatisfiable(ApiError):
    status, code = 416, "range_not_satisfiable"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    status, code = 503, "unavailable"
