# Cross-compiling for the 64-bit ARM boards (Kria KV260, ZCU104, Ultra96: Zynq UltraScale+,
# Debian arm64) on a Debian 12 x86-64 host. See debian-cross.cmake for where the target's
# libraries come from.
#
#   deploy/install-deps.sh --cross
#   cmake -S . -B build-arm64 --toolchain cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DCMAKE_BUILD_TYPE=Release -DPYNQ_BUILD_TESTS=OFF
#   cmake --build build-arm64 -j2 --target pynq-inferd pynq-infer cpu_backend_bench
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(PYNQ_TARGET_TRIPLET aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
