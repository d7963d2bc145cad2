"""Fixtures for the API tests: the security tests' world of users and devices, callers acting as each actor."""
from tests.security.conftest import act_as, test_password_hash, world  # noqa: F401  (fixtures)
