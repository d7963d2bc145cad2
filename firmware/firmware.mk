# Firmware host build: include from the repository Makefile
# (`include firmware/firmware.mk`) or run `make -f firmware/firmware.mk <target>`.
#
#   firmware-deps          install g++, libcurl, libmosquitto, nlohmann-json and doctest from Debian when missing
#   firmware-test          build and run the core's unit tests, and type-check the sketch
#                          against host stubs of the Arduino APIs it uses
#   firmware-fil           build the host device program used by tests/firmware
#   firmware-test32        the same unit tests built with -m32 (i386: 32-bit long, size_t and
#                          pointers, as on the ESP32), ASan and UBSan included
#   firmware-rv32          the core cross-compiled for the ESP32-C3/C6 (rv32imc, ilp32, -Os):
#                          code and static RAM size; says why the tests cannot run under QEMU
#   firmware-cross         both, when their Debian packages are installed
#   firmware-clean
#
# Everything is built with -Wall -Wextra -Werror and AddressSanitizer. The
# core also gets UBSan and -O1 (which sharpens GCC's warnings), and is
# compiled without exceptions and RTTI, as on the ESP32; the tests and host
# adapters stay at -O0, since json.hpp and doctest take minutes otherwise.

FIRMWARE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
FW_BUILD := $(FIRMWARE_DIR)/build
FW_DEBIAN_PACKAGES := g++ libcurl4-openssl-dev nlohmann-json3-dev doctest-dev libssl-dev libmosquitto-dev
# Optional targets: the 32-bit host build, and the RISC-V (ESP32-C3/C6) cross build under QEMU.
FW_CROSS_PACKAGES := g++-multilib gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc

FW_CXX ?= g++
FW_WARNINGS := -Wall -Wextra -Werror
FW_CXXFLAGS := -std=c++17 $(FW_WARNINGS) -g -fno-omit-frame-pointer -MMD -MP
FW_LINK_FLAGS := -fsanitize=address,undefined
FW_CORE_DIR := $(FIRMWARE_DIR)/lib/ThingsNXT/src
FW_INCLUDES := -I$(FW_CORE_DIR) -I$(FIRMWARE_DIR)/host

FW_CORE_SRC := $(wildcard $(FW_CORE_DIR)/*.cpp)
FW_TEST_SRC := $(wildcard $(FIRMWARE_DIR)/host/tests/*.cpp) $(FIRMWARE_DIR)/host/NlohmannJson.cpp \
               $(FIRMWARE_DIR)/host/OpenSslCertificates.cpp $(FIRMWARE_DIR)/host/OpenSslSha256.cpp $(FIRMWARE_DIR)/host/FileFirmwareSlot.cpp
FW_HOST_SRC := $(FIRMWARE_DIR)/host/host_device.cpp $(FIRMWARE_DIR)/host/NlohmannJson.cpp $(FIRMWARE_DIR)/host/CurlHttp.cpp \
               $(FIRMWARE_DIR)/host/MosquittoMqtt.cpp \
               $(FIRMWARE_DIR)/host/FileRecordStore.cpp $(FIRMWARE_DIR)/host/OpenSslCertificates.cpp \
               $(FIRMWARE_DIR)/host/OpenSslSha256.cpp $(FIRMWARE_DIR)/host/FileFirmwareSlot.cpp
fw_objects = $(patsubst $(FIRMWARE_DIR)/%.cpp,$(FW_BUILD)/obj/%.o,$(1))

FW_UNIT_TESTS := $(FW_BUILD)/thingsnxt-unit-tests
FW_HOST_DEVICE := $(FW_BUILD)/thingsnxt-host-device
FW_SKETCH := $(FIRMWARE_DIR)/esp32_production_ready/esp32_production_ready.ino
FW_SKETCH_STAMP := $(FW_BUILD)/sketch-typecheck.stamp

.PHONY: firmware-deps firmware-test firmware-fil firmware-clean firmware-test32 firmware-rv32 firmware-cross

firmware-deps:
	@missing=""; \
	for package in $(FW_DEBIAN_PACKAGES) $(FW_CROSS_PACKAGES); do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
	  echo "firmware: installing$$missing"; \
	  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $$missing || \
	    { apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $$missing; }; \
	fi

firmware-test: $(FW_UNIT_TESTS) $(FW_SKETCH_STAMP)
	$(FW_UNIT_TESTS)

firmware-fil: $(FW_HOST_DEVICE)

firmware-clean:
	rm -rf $(FW_BUILD)

FW_EXTRA := -O0 -fsanitize=address
$(call fw_objects,$(FW_CORE_SRC)): FW_EXTRA := -O1 -fsanitize=address,undefined -fno-exceptions -fno-rtti

$(FW_BUILD)/obj/%.o: $(FIRMWARE_DIR)/%.cpp | firmware-deps
	@mkdir -p $(dir $@)
	$(FW_CXX) $(FW_CXXFLAGS) $(FW_EXTRA) $(FW_INCLUDES) -c $< -o $@

$(FW_UNIT_TESTS): $(call fw_objects,$(FW_CORE_SRC) $(FW_TEST_SRC))
	$(FW_CXX) $(FW_LINK_FLAGS) $^ -lcrypto -o $@

$(FW_HOST_DEVICE): $(call fw_objects,$(FW_CORE_SRC) $(FW_HOST_SRC))
	$(FW_CXX) $(FW_LINK_FLAGS) $^ -lcurl -lmosquitto -lcrypto -o $@

# No ESP32 toolchain here: type-check the sketch and its adapters against
# declarations of the Arduino, WiFi, HTTPClient, Preferences, ArduinoJson 7
# and espMqttClient APIs they use (host/arduino_stubs). Catches syntax and type errors in our
# code; cannot catch a wrong transcription of a library's API in the stubs.
$(FW_SKETCH_STAMP): $(FW_SKETCH) $(wildcard $(FIRMWARE_DIR)/esp32_production_ready/*.h) \
                    $(wildcard $(FIRMWARE_DIR)/host/arduino_stubs/*.h) $(wildcard $(FW_CORE_DIR)/*.h) | firmware-deps
	@mkdir -p $(dir $@)
	$(FW_CXX) -std=gnu++17 $(FW_WARNINGS) -fsyntax-only -x c++ -I$(FIRMWARE_DIR)/host/arduino_stubs \
	  -I$(FIRMWARE_DIR)/esp32_production_ready -I$(FW_CORE_DIR) $(FW_SKETCH)
	@touch $@

-include $(shell find $(FW_BUILD)/obj -name '*.d' 2>/dev/null)

# -- 32-bit ------------------------------------------------------------------
# The ESP32 is a 32-bit machine: long and size_t are 32 bits there, and a
# millisecond count in them wraps after 49 days. The whole unit-test suite
# runs again built for i386 (g++-multilib), with the sanitizers, except the
# OpenSSL adapter's own tests (test_certificates.cpp) and the OTA tests,
# which hash with OpenSSL (test_ota.cpp): Debian's libssl-dev is 64-bit only
# unless the i386 architecture is added; the core's certificate logic is
# covered with a fake parser in both builds.
FW_BUILD32 := $(FW_BUILD)/i386
FW_TEST32_SRC := $(filter-out %/test_certificates.cpp,$(FW_TEST_SRC))
FW_TEST32_SRC := $(filter-out %/OpenSslCertificates.cpp %/OpenSslSha256.cpp %/test_ota.cpp,$(FW_TEST32_SRC))
fw_objects32 = $(patsubst $(FIRMWARE_DIR)/%.cpp,$(FW_BUILD32)/obj/%.o,$(1))
FW_UNIT_TESTS32 := $(FW_BUILD32)/thingsnxt-unit-tests

$(call fw_objects32,$(FW_CORE_SRC)): FW_EXTRA := -O1 -fsanitize=address,undefined -fno-exceptions -fno-rtti

$(FW_BUILD32)/obj/%.o: $(FIRMWARE_DIR)/%.cpp | firmware-deps
	@mkdir -p $(dir $@)
	$(FW_CXX) -m32 $(FW_CXXFLAGS) $(FW_EXTRA) $(FW_INCLUDES) -c $< -o $@

$(FW_UNIT_TESTS32): $(call fw_objects32,$(FW_CORE_SRC) $(FW_TEST32_SRC))
	$(FW_CXX) -m32 $(FW_LINK_FLAGS) $^ -o $@

firmware-test32: $(FW_UNIT_TESTS32)
	$(FW_UNIT_TESTS32)

# -- RISC-V (ESP32-C3/C6) -------------------------------------------------------
# Debian's gcc-riscv64-unknown-elf has a C++ compiler but no libstdc++ for
# the target: the core is compiled against the host's libstdc++ headers
# (header-only templates) with two bare-metal shims (firmware/cross) in
# front, and measured. std::string's out-of-line members and the rest of the
# C++ runtime would come from a libstdc++ that is not there, so nothing can
# be linked, and doctest (iostreams) cannot run under qemu-system-riscv32.
FW_RV_CXX := riscv64-unknown-elf-g++
FW_RV_SIZE := riscv64-unknown-elf-size
FW_RV_FLAGS := -std=c++17 $(FW_WARNINGS) -march=rv32imc -mabi=ilp32 -Os -ffunction-sections -fdata-sections \
               -fno-exceptions -fno-rtti -nostdinc++ -isystem $(FIRMWARE_DIR)/cross/rv32-include \
               -isystem /usr/include/c++/12 -isystem /usr/include/x86_64-linux-gnu/c++/12 \
               -isystem /usr/lib/picolibc/riscv64-unknown-elf/include -I$(FW_CORE_DIR)
FW_BUILD_RV := $(FW_BUILD)/rv32imc
FW_RV_OBJECTS := $(patsubst $(FW_CORE_DIR)/%.cpp,$(FW_BUILD_RV)/%.o,$(FW_CORE_SRC))

$(FW_BUILD_RV)/%.o: $(FW_CORE_DIR)/%.cpp $(wildcard $(FW_CORE_DIR)/*.h) | firmware-deps
	@mkdir -p $(dir $@)
	$(FW_RV_CXX) $(FW_RV_FLAGS) -c $< -o $@

firmware-rv32: $(FW_RV_OBJECTS)
	@$(FW_RV_SIZE) -t $(FW_RV_OBJECTS) | tail -1 | \
	  awk '{ printf "firmware-rv32: core for rv32imc/ilp32 -Os: .text %d bytes, .data %d, .bss %d (static RAM %d)\n", $$1, $$2, $$3, $$2 + $$3 }'
	@echo "firmware-rv32: unit tests not run under qemu-system-riscv32: Debian has no libstdc++ for riscv64-unknown-elf (see firmware/README.md)"

# The cross builds run when their compilers are installed (firmware-deps
# installs them); `make test` runs this through tests/firmware.
firmware-cross:
	@if command -v $(FW_CXX) >/dev/null && [ -d /usr/lib32 ] && dpkg -s g++-multilib >/dev/null 2>&1; then \
	  $(MAKE) -f $(firstword $(MAKEFILE_LIST)) firmware-test32; else echo "firmware-cross: g++-multilib missing, 32-bit build skipped"; fi
	@if command -v $(FW_RV_CXX) >/dev/null && dpkg -s picolibc-riscv64-unknown-elf >/dev/null 2>&1; then \
	  $(MAKE) -f $(firstword $(MAKEFILE_LIST)) firmware-rv32; else echo "firmware-cross: RISC-V toolchain missing, skipped"; fi
