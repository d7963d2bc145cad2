"""Secrets handed to devices and users: generated once, stored only as a hash."""
import hashlib
import hmac
import secrets

PREFIX_LENGTH = 8


def new_device_id():
    """24 lowercase hex characters, the id format the firmware expects."""
    return secrets.token_hex(12)


def new_token():
    """A token with 256 bits of randomness, URL-safe, and its display prefix and hash."""
    token = secrets.token_urlsafe(32)
    return token, token[:PREFIX_LENGTH], hash_token(token)


def hash_token(token):
    # A fast hash suffices: the token is random, not a guessable password.
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token, token_hash):
    return hmac.compare_digest(hash_token(token), token_hash)
