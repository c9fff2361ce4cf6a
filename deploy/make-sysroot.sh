#!/usr/bin/env bash
# Builds a sysroot for cross-compiling to a Debian 12 architecture without touching the host's
# package database: the target's -dev packages and everything they depend on are resolved and
# downloaded by apt with a private state directory (the host's apt sources, the target
# architecture only), then unpacked with dpkg-deb -x. Used for armhf, where the archive's index
# was seen out of step with the host's (which makes `dpkg --add-architecture armhf` break every
# `apt-get update` on the machine) and where no XRT exists anyway.
#
#   deploy/make-sysroot.sh armhf build-cross/sysroot-armhf
#
# Idempotent: a sysroot whose package list matches is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: make-sysroot.sh ARCH DIR}
sysroot=${2:?usage: make-sysroot.sh ARCH DIR}
packages=(
  libc6-dev libstdc++-12-dev
  libgrpc++-dev libprotobuf-dev libabsl-dev libspdlog-dev libsystemd-dev libpng-dev zlib1g-dev
  libcpp-httplib-dev nlohmann-json3-dev libjpeg62-turbo-dev
)
stamp="${sysroot}/.pynq-sysroot"
if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${packages[*]}" ]]; then
  echo "make-sysroot: ${sysroot} is up to date"
  exit 0
fi

state=$(realpath -m "${sysroot}.apt")
rm -rf "${sysroot}" "${state}"
mkdir -p "${state}/lists/partial" "${state}/cache/archives/partial" "${sysroot}"
touch "${state}/status"
apt_options=(
  -o "APT::Architecture=${arch}" -o "APT::Architectures::=${arch}"
  -o "Dir::State=${state}" -o "Dir::State::Lists=${state}/lists"
  -o "Dir::State::status=${state}/status" -o "Dir::Cache=${state}/cache"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
# An index that fails to download (a mirror mid-sync) leaves apt with the others; the install
# below then fails by name if something needed is missing.
if ! apt-get "${apt_options[@]}" update -qq >"${state}/update.log" 2>&1; then
  echo "make-sysroot: some ${arch} indexes failed to download (going on without them):"
  grep "^E: Failed to fetch" "${state}/update.log" | cut -c1-160
fi
apt-get "${apt_options[@]}" install -y -qq --download-only --no-install-recommends \
  "${packages[@]}" >/dev/null
for deb in "${state}"/cache/archives/*.deb; do
  dpkg-deb -x "${deb}" "${sysroot}"
done
# gRPC's CMake config names the target's code generator plugins (and checks they exist); the
# build runs the host's.
mkdir -p "${sysroot}/usr/bin"
for plugin in /usr/bin/grpc_*_plugin; do
  ln -sf "${plugin}" "${sysroot}${plugin}"
done
# Absolute symlinks inside the sysroot (libfoo.so -> /lib/...) must point into it.
while IFS= read -r link; do
  target=$(readlink "${link}")
  [[ "${target}" == /usr/bin/grpc_*_plugin ]] && continue
  ln -sfn "$(realpath -m --relative-to="$(dirname "${link}")" "${sysroot}${target}")" "${link}"
done < <(find "${sysroot}" -type l -lname '/*')
rm -rf "${state}"
printf '%s' "${packages[*]}" >"${stamp}"
echo "make-sysroot: ${arch} sysroot in ${sysroot} ($(du -sh "${sysroot}" | cut -f1))"
