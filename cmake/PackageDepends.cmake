# Run by cpack (CPACK_PROJECT_CONFIG_FILE, see Packaging.cmake): sets the .deb's Depends: from
# the shared libraries the packaged binaries need (their DT_NEEDED sonames), mapped to the
# Debian 12 packages that ship them. A soname missing from the table stops the packaging with
# its name, so a new dependency is never left out silently.

set(pynq_soname_packages
    "^libabsl_.*\\.so\\.20220623$=libabsl20220623"
    "^libgrpc\\+\\+(_reflection)?\\.so\\.1\\.51$=libgrpc++1.51"
    "^lib(grpc|gpr)\\.so\\.29$=libgrpc29"
    "^libprotobuf\\.so\\.32$=libprotobuf32"
    "^libspdlog\\.so\\.1\\.10$=libspdlog1.10"
    "^libfmt\\.so\\.9$=libfmt9"
    "^libsystemd\\.so\\.0$=libsystemd0"
    "^libpng16\\.so\\.16$=libpng16-16"
    "^libjpeg\\.so\\.62$=libjpeg62-turbo"
    "^libz\\.so\\.1$=zlib1g"
    "^lib(ssl|crypto)\\.so\\.3$=libssl3"
    "^libxrt(_core|_coreutil|\\+\\+)?\\.so\\.2$=libxrt1"
    "^libuuid\\.so\\.1$=libuuid1"
    "^libcpp-httplib\\.so\\.0\\.11$=libcpp-httplib0.11"
    "^libprometheus-cpp-core\\.so\\.1\\.0$=libprometheus-cpp-core1.0"
    "^libprometheus-cpp-pull\\.so\\.1\\.0$=libprometheus-cpp-pull1.0"
    "^libstdc\\+\\+\\.so\\.6$=libstdc++6"
    "^libgcc_s\\.so\\.1$=libgcc-s1"
    "^lib(c|m|pthread|dl|rt)\\.so\\.6$=libc6"
    "^ld-linux.*\\.so\\.[0-9]+$=libc6")

file(STRINGS "${CPACK_PYNQ_ELF_LIST}" pynq_elves)
set(pynq_depends)
foreach(elf IN LISTS pynq_elves)
  execute_process(COMMAND "${CPACK_PYNQ_READELF}" -d "${elf}" OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "readelf -d ${elf} failed; build the package targets first")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[([^]]+)\\]" needed_lines "${dynamic}")
  foreach(line IN LISTS needed_lines)
    string(REGEX REPLACE ".*\\[([^]]+)\\].*" "\\1" soname "${line}")
    set(package "")
    foreach(entry IN LISTS pynq_soname_packages)
      string(REGEX REPLACE "=[^=]*$" "" pattern "${entry}")
      string(REGEX REPLACE "^.*=" "" candidate "${entry}")
      if(soname MATCHES "${pattern}")
        set(package ${candidate})
        break()
      endif()
    endforeach()
    if(NOT package)
      message(FATAL_ERROR "${elf} needs ${soname}: add its Debian package to "
                          "cmake/PackageDepends.cmake")
    endif()
    list(APPEND pynq_depends ${package})
  endforeach()
endforeach()
list(REMOVE_DUPLICATES pynq_depends)
list(SORT pynq_depends)
# adduser is the postinst's fallback for images without systemd-sysusers.
list(APPEND pynq_depends adduser)
list(JOIN pynq_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
message(STATUS "pynq-infer Depends: ${CPACK_DEBIAN_PACKAGE_DEPENDS}")
