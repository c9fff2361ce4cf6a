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
# The Python client is a second, architecture-independent package (python3-pynq-infer, at the
# end of this file).
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

# The Python client as its own architecture-independent package, made beside the daemon's with
# dpkg-deb (cpack makes one package per build, for the build's architecture):
#   cmake --build build --target python3-pynq-infer-deb
#   -> build/python3-pynq-infer_<version>_all.deb:
#   /usr/lib/python3/dist-packages/pynq_infer/        the package and its generated v1 stubs
#   /usr/share/doc/python3-pynq-infer/                README.md and the example notebook
# It depends only on Debian's python3-grpcio, python3-protobuf and python3-numpy.
if(TARGET pynq_infer_python)
  set(PYNQ_PYTHON_DEB ${CMAKE_BINARY_DIR}/python3-pynq-infer_${PROJECT_VERSION}_all.deb)
  set(pynq_python_deb_root ${CMAKE_BINARY_DIR}/python3-pynq-infer-root)
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/python3-pynq-infer.control CONTENT
"Package: python3-pynq-infer
Version: ${PROJECT_VERSION}
Architecture: all
Section: python
Priority: optional
Maintainer: ${CPACK_PACKAGE_CONTACT}
Depends: python3 (>= 3.8), python3-grpcio (>= 1.51), python3-protobuf (>= 3.21), python3-numpy
Description: Python client of pynq-inferd (FPGA image classification)
 pynq_infer classifies numpy images, runs throughput tests and reads metrics from
 pynq-inferd over its gRPC API, with TLS, client certificates and bearer tokens.
")
  add_custom_command(
    OUTPUT ${PYNQ_PYTHON_DEB}
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${pynq_python_deb_root}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${pynq_python_deb_root}/DEBIAN
            ${pynq_python_deb_root}/usr/lib/python3/dist-packages
            ${pynq_python_deb_root}/usr/share/doc/python3-pynq-infer/examples
    COMMAND ${CMAKE_COMMAND} -E copy_directory ${PYNQ_PYTHON_PACKAGE_DIR}/pynq_infer
            ${pynq_python_deb_root}/usr/lib/python3/dist-packages/pynq_infer
    COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/clients/python/README.md
            ${pynq_python_deb_root}/usr/share/doc/python3-pynq-infer/README.md
    COMMAND ${CMAKE_COMMAND} -E copy
            ${PROJECT_SOURCE_DIR}/clients/python/examples/classify_digits.ipynb
            ${pynq_python_deb_root}/usr/share/doc/python3-pynq-infer/examples/
    COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_BINARY_DIR}/python3-pynq-infer.control
            ${pynq_python_deb_root}/DEBIAN/control
    COMMAND find ${pynq_python_deb_root} -name __pycache__ -prune -exec rm -rf {} +
    COMMAND chmod -R u=rwX,go=rX ${pynq_python_deb_root}
    COMMAND dpkg-deb --root-owner-group --build ${pynq_python_deb_root} ${PYNQ_PYTHON_DEB}
            > /dev/null
    DEPENDS pynq_infer_python ${CMAKE_BINARY_DIR}/python3-pynq-infer.control
            ${PROJECT_SOURCE_DIR}/clients/python/README.md
            ${PROJECT_SOURCE_DIR}/clients/python/examples/classify_digits.ipynb
    COMMENT "dpkg-deb python3-pynq-infer_${PROJECT_VERSION}_all.deb")
  add_custom_target(python3-pynq-infer-deb DEPENDS ${PYNQ_PYTHON_DEB})
endif()
