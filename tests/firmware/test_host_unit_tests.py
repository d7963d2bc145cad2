"""The firmware core's C++ unit tests (doctest), built with g++ -Wall -Wextra
-Werror and sanitizers, and the sketch type-checked against Arduino API stubs,
as part of the Python test run."""

from .host_device import run_make


def test_firmware_unit_tests_and_sketch_typecheck_pass():
    result = run_make("firmware-test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "Status: SUCCESS!" in output
