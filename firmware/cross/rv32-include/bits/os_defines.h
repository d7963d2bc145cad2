// libstdc++'s OS configuration for a bare-metal target (picolibc), in place
// of the x86_64 Linux one that includes glibc's <features.h>. Debian ships
// no libstdc++ for riscv64-unknown-elf, so firmware.mk compiles the core
// against the host's libstdc++ headers (templates only) with this file and
// c++locale.h in front: enough to measure the core's code size for the
// ESP32-C3/C6 (RV32IMC), not to link a program (see firmware/README.md).
#pragma once

#define _GLIBCXX_GTHREAD_USE_WEAK 0
