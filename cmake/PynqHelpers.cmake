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
