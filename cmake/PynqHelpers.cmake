# Target helpers in the manner of Abseil's absl_cc_library / absl_cc_test: every target lists its
# files by name, and every target gets the project's warnings and sanitizer flags.

# pynq_cc_library(NAME name SRCS ... [HDRS ...] [DEPS ...] [PUBLIC_INCLUDE dir])
function(pynq_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS} ${ARG_HDRS})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} pynq_build_flags)
endfunction()

# pynq_cc_binary(NAME name SRCS ... [DEPS ...] [OUTPUT_NAME name])
function(pynq_cc_binary)
  cmake_parse_arguments(ARG "" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} pynq_build_flags)
  if(ARG_OUTPUT_NAME)
    set_target_properties(${ARG_NAME} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
endfunction()

# pynq_test_pch(): the target pynq_test_pch, which owns a precompiled header of GoogleTest, gMock
# and the Abseil and standard headers most test files include; every test built as C++20 reuses it
# (REUSE_FROM), so those headers are parsed once per build instead of once per test file. Measured
# at -O2 on test files compiled one at a time: service/fpga_presence_test.cc 5.0 -> 3.4 s,
# accel/model/model_test.cc 14.0 -> 9.8 s. gcc takes a precompiled header only when the flags that
# shape it match (-std, -pthread, the sanitizer), so this target gets exactly the tests' flags
# (pynq_build_flags, GoogleTest's, and -pthread, which gRPC brings to some tests through re2's
# pkg-config flags and pynq_cc_test gives to all); a test that differs, such as the C++14
# engine_abi_test, sets DISABLE_PRECOMPILE_HEADERS.
function(pynq_test_pch)
  add_library(pynq_test_pch OBJECT ${PROJECT_SOURCE_DIR}/tests/support/test_pch.cc)
  target_link_libraries(pynq_test_pch PRIVATE GTest::gtest GTest::gmock absl::status absl::statusor
                        absl::strings absl::time pynq_build_flags)
  target_compile_options(pynq_test_pch PRIVATE -pthread)
  target_precompile_headers(pynq_test_pch PRIVATE
    <algorithm> <atomic> <chrono> <cstdint> <cstdlib> <cstring> <filesystem> <fstream> <map>
    <memory> <mutex> <random> <sstream> <string> <thread> <vector>
    <absl/status/status.h> <absl/status/statusor.h> <absl/strings/str_cat.h> <absl/time/clock.h>
    <absl/time/time.h> <gmock/gmock.h> <gtest/gtest.h>)
endfunction()

# pynq_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...] [ENVIRONMENT ...] [ARGS ...])
# Registers a GoogleTest binary with CTest, one CTest test per binary so the summary counts binaries
# and a failing case prints its gtest output. ARGS are passed to the binary (e.g. a --gtest_filter
# when some of its cases are registered as a second CTest test with other labels).
function(pynq_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;ENVIRONMENT;ARGS" ${ARGN})
  if(NOT PYNQ_BUILD_TESTS)
    return()
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock
                        pynq_build_flags)
  if(TARGET pynq_test_pch)
    target_compile_options(${ARG_NAME} PRIVATE -pthread)
    target_precompile_headers(${ARG_NAME} REUSE_FROM pynq_test_pch)
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                       ENVIRONMENT "PYNQ_SOURCE_DIR=${PROJECT_SOURCE_DIR};${ARG_ENVIRONMENT}")
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
