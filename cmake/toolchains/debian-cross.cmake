# Shared by the toolchain files beside it: cross-compiling on a Debian 12 host with Debian's
# cross compilers (g++-<triplet>), against the target's libraries found in one of two ways:
#
#  - multiarch (the default): the target's -dev packages installed beside the host's after
#    `dpkg --add-architecture`, in /usr/lib/<triplet>; what deploy/install-deps.sh --cross does
#    for arm64. The cross binaries then also run under qemu-user with the same libraries.
#  - a sysroot (-DPYNQ_SYSROOT=dir, or $PYNQ_SYSROOT): the target's packages extracted into a
#    directory (deploy/make-sysroot.sh), for an architecture whose archive index the host's apt
#    cannot use, or to leave the host's package database alone.
#
# Either way protoc and grpc_cpp_plugin are the host's (they run during the build), and so is
# every other program CMake looks for.
#
# Expects PYNQ_TARGET_TRIPLET (e.g. aarch64-linux-gnu) to be set by the including file.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${PYNQ_TARGET_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${PYNQ_TARGET_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${PYNQ_TARGET_TRIPLET})

if(NOT PYNQ_SYSROOT AND DEFINED ENV{PYNQ_SYSROOT})
  set(PYNQ_SYSROOT $ENV{PYNQ_SYSROOT})
endif()
# try_compile() projects read this file again; hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PYNQ_SYSROOT)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
if(PYNQ_SYSROOT)
  set(CMAKE_SYSROOT ${PYNQ_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH ${PYNQ_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${PYNQ_SYSROOT})
  set(ENV{PKG_CONFIG_LIBDIR}
      "${PYNQ_SYSROOT}/usr/lib/${PYNQ_TARGET_TRIPLET}/pkgconfig:${PYNQ_SYSROOT}/usr/share/pkgconfig")
else()
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${PYNQ_TARGET_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
endif()
