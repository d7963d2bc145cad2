"""Row ids as callers send them: whole numbers both databases can compare with a BIGINT column.

An id past 2^63 - 1 names no row, but SQLite and PostgreSQL raise (overflow) rather than find
nothing; so every id from a path, a body or a WebSocket message is checked against MAX_ID first.
"""
MAX_ID = 2**63 - 1


def in_range(value):
    """Whether the whole number `value` fits a BIGINT column."""
    return -MAX_ID - 1 <= value <= MAX_ID


def parse_id(text):
    """The id written in `text` (ASCII digits, at most MAX_ID), or None when it names no row."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
