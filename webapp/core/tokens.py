"""Secrets handed to devices and users: generated once, stored only as a hash."""
import hashlib
import hmac
import re
import secrets

PREFIX_LENGTH = 8
DEVICE_ID = re.compile(r"[0-9a-f]{24}")


def new_device_id():
    """24 lowercase hex characters, the id format the firmware expects."""
    return secrets.token_hex(12)


def is_device_id(value):
    """Whether `value` can be a device id: anything else names no device, and is not looked up
    (PostgreSQL refuses some strings outright, such as those holding NUL)."""
    return DEVICE_ID.fullmatch(value) is not None


def is_row_id(value):
    """Whether `value` can be a row's id (a positive 64-bit integer): anything else names no row, and is
    not looked up (the databases refuse larger integers outright)."""
    return isinstance(value, int) and 0 < value < 2**63


def new_token():
    """A token with 256 bits of randomness, URL-safe, and its display prefix and hash."""
    token = secrets.token_urlsafe(32)
    return token, token[:PREFIX_LENGTH], hash_token(token)


def hash_token(token):
    # A fast hash suffices: the token is random, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token, token_hash):
    return hmac.compare_digest(hash_token(token), token_hash)
