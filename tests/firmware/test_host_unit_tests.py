"""The firmware core's C++ unit tests (doctest), built with g++ -Wall -Wextra
-Werror and sanitizers, and the sketch type-checked against Arduino API stubs,
as part of the Python test run; then the same tests built for 32-bit (i386),
and the core cross-compiled for the ESP32-C3/C6 (RISC-V), when `make
firmware-deps` (run by `make test`) has installed their Debian packages."""

import re
import subprocess

import pytest

from .host_device import run_make


def installed(package: str) -> bool:
    return subprocess.run(["dpkg", "-s", package], capture_output=True).returncode == 0


def test_firmware_unit_tests_and_sketch_typecheck_pass():
    result = run_make("firmware-test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "Status: SUCCESS!" in output


@pytest.mark.skipif(not installed("g++-multilib"), reason="g++-multilib is not installed (make firmware-deps)")
def test_firmware_unit_tests_pass_when_built_for_32_bit():
    result = run_make("firmware-test32")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "Status: SUCCESS!" in output
    assert "growth 0 bytes" in output


@pytest.mark.skipif(
    not (installed("gcc-riscv64-unknown-elf") and installed("picolibc-riscv64-unknown-elf")),
    reason="the RISC-V toolchain is not installed (make firmware-deps)",
)
def test_firmware_core_cross_compiles_for_risc_v():
    result = run_make("firmware-rv32")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    sizes = re.search(r"\.text (\d+) bytes, \.data (\d+), \.bss (\d+)", output)
    assert sizes, output[-2000:]
    # The core keeps no mutable globals: its state lives in the objects the sketch creates.
    assert int(sizes[2]) + int(sizes[3]) == 0
    assert int(sizes[1]) < 64 * 1024
