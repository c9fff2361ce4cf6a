# Cross-compiling for the 32-bit ARM boards (PYNQ-Z1/Z2: Zynq-7000, Cortex-A9 with NEON,
# Debian armhf) on a Debian 12 x86-64 host. See debian-cross.cmake for where the target's
# libraries come from; Debian has no XRT for armhf, so these builds drive the FPGA through
# /dev/uio and u-dma-buf only.
#
#   deploy/install-deps.sh --cross      # makes the armhf sysroot build-cross/sysroot-armhf
#   cmake -S . -B build-armhf --toolchain cmake/toolchains/arm-linux-gnueabihf.cmake \
#         -DPYNQ_SYSROOT=$PWD/build-cross/sysroot-armhf -DCMAKE_BUILD_TYPE=Release \
#         -DPYNQ_BUILD_TESTS=OFF
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(PYNQ_TARGET_TRIPLET arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
