"""Waiting in tests for what another process or thread does, when it sends no event to wait on."""
import time

POLL_SECONDS = 0.02


def wait_until(condition, what, timeout=15):
    """Return once `condition()` holds; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(POLL_SECONDS)
