# Installing and packaging. `cmake --install` lays out what a board needs, and `cpack -G DEB`
# in a build configured for amd64, arm64 or armhf (see cmake/toolchains/) makes
# pynq-infer_<version>_<arch>.deb:
#
#   /usr/bin/pynq-inferd, /usr/bin/pynq-infer         the daemon and the client
#   /usr/bin/pynq-infer-cpu-bench                     the CPU backend's benchmark (bench/)
#   /lib/systemd/system/pynq-inferd.service           the hardened Type=notify unit
#   /etc/pynq-infer/pynq-inferd.flags                 its Abseil flagfile (a conffile)
#   /usr/share/pynq-infer/models/*.pim                the shipped models (--model_dir)
#   /lib/firmware/pynq-infer/                         overlays: bitstreams and xclbins
#   /lib/udev/rules.d/60-pynq-infer.rules             FPGA devices for the service's group
#   /usr/lib/sysusers.d/pynq-infer.conf               the static pynq-infer user and group
#
# The maintainer scripts (deploy/debian/) create the user, reload udev and enable the unit.
# Depends: is worked out when the package is made, from the sonames the binaries link
# (readelf works on any architecture, so this holds for cross builds with a bare sysroot,
# where dpkg-shlibdeps has no package database to ask).

install(TARGETS pynq-inferd pynq-infer RUNTIME DESTINATION bin)
# So that a board owner measures the CPU kernels on the board with one command.
install(PROGRAMS $<TARGET_FILE:cpu_backend_bench> DESTINATION bin RENAME pynq-infer-cpu-bench)
install(FILES deploy/systemd/pynq-inferd.service DESTINATION /lib/systemd/system)
install(FILES deploy/pynq-inferd.flags DESTINATION /etc/pynq-infer)
install(DIRECTORY models/zoo/ DESTINATION share/pynq-infer/models FILES_MATCHING PATTERN "*.pim")
install(DIRECTORY DESTINATION /lib/firmware/pynq-infer)
install(FILES deploy/udev/60-pynq-infer.rules DESTINATION /lib/udev/rules.d)
install(FILES deploy/sysusers-pynq-infer.conf DESTINATION lib/sysusers.d RENAME pynq-infer.conf)
install(FILES deploy/README.md DESTINATION share/doc/pynq-infer)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$")
  set(PYNQ_DEB_ARCH amd64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(PYNQ_DEB_ARCH arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  set(PYNQ_DEB_ARCH armhf)
else()
  message(WARNING "no Debian architecture for ${CMAKE_SYSTEM_PROCESSOR}; cpack will not work")
endif()

# Read by cmake/PackageDepends.cmake when cpack runs.
find_program(PYNQ_READELF NAMES ${CMAKE_READELF} readelf REQUIRED)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/pynq-package-elves.txt
     CONTENT "$<TARGET_FILE:pynq-inferd>\n$<TARGET_FILE:pynq-infer>\n$<TARGET_FILE:cpu_backend_bench>\n")
set(CPACK_PYNQ_ELF_LIST ${CMAKE_BINARY_DIR}/pynq-package-elves.txt)
set(CPACK_PYNQ_READELF ${PYNQ_READELF})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/PackageDepends.cmake)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pynq-infer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "pynq-infer maintainers <pynq-infer@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "image classification over gRPC from the FPGA of a Zynq board")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pynq-inferd serves image classification over gRPC, batching requests per model and\n\
running them on an FPGA engine (or the CPU when no overlay is present). Runs as the\n\
hardened systemd service pynq-inferd.service. Also ships the pynq-infer client.")
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${PYNQ_DEB_ARCH})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
