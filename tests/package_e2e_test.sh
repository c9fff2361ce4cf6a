#!/usr/bin/env bash
# The .deb for one architecture (amd64 natively, arm64 and armhf cross-built), tested on this
# x86-64 host:
#   1. cpack makes pynq-infer_<version>_<arch>.deb in the package's build directory; its
#      control fields and file list are what a board needs;
#   2. the packaged CPU benchmark runs once, briefly; the daemon unpacked from that .deb
#      (stripped, as shipped) runs, under qemu-user for ARM,
#      started with the package's own flagfile, and the host's end-to-end test
#      (tests/daemon_e2e_test: a native gRPC client plus the native pynq-infer CLI) drives it:
#      golden scores bit for bit, error codes, streams, metrics, drain on SIGTERM;
#   3. with amd64 only, the Python client's package python3-pynq-infer_<version>_all.deb (made
#      once: it is the same for every architecture): its control fields and files, and the client
#      unpacked from it running its tests (plaintext, TLS, tokens, mTLS) against the daemon of 2.
#
# Usage: package_e2e_test.sh ARCH PACKAGE_BUILD_DIR HOST_BUILD_DIR [QEMU [QEMU_ARGS...]]
#   e.g. package_e2e_test.sh amd64 build build
#        package_e2e_test.sh arm64 build-arm64 build qemu-aarch64
#        package_e2e_test.sh armhf build-armhf build qemu-arm -L build-cross/sysroot-armhf
# Run from the repository root. Exits non-zero on the first failure.
set -euo pipefail
arch=$1 cross_dir=$(realpath "$2") host_dir=$(realpath "$3")
shift 3
qemu=("$@")
for i in "${!qemu[@]}"; do
  [[ -e "${qemu[$i]}" ]] && qemu[i]=$(realpath "${qemu[$i]}")
done
src=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

# 1. The package.
rm -f "${cross_dir}"/pynq-infer_*_"${arch}".deb
(cd "${cross_dir}" && cpack -G DEB >"${work}/cpack.log" 2>&1) || { cat "${work}/cpack.log"; exit 1; }
deb=$(ls "${cross_dir}"/pynq-infer_*_"${arch}".deb)
echo "package: ${deb##*/} ($(du -k "${deb}" | cut -f1) KiB)"
[[ "$(dpkg-deb -f "${deb}" Architecture)" == "${arch}" ]] || { echo "wrong Architecture"; exit 1; }
depends=$(dpkg-deb -f "${deb}" Depends)
echo "Depends: ${depends}"
for needed in libgrpc++1.51 libsystemd0 libc6; do
  [[ ", ${depends}," == *", ${needed},"* ]] || { echo "Depends lacks ${needed}"; exit 1; }
done
dpkg-deb -c "${deb}" | awk '{print $6}' >"${work}/files"
for path in ./usr/bin/pynq-inferd ./usr/bin/pynq-infer ./usr/bin/pynq-infer-cpu-bench \
            ./lib/systemd/system/pynq-inferd.service \
            ./etc/pynq-infer/pynq-inferd.flags ./usr/share/pynq-infer/models/mnist-bnn-tfc.pim \
            ./lib/firmware/pynq-infer/ ./lib/udev/rules.d/60-pynq-infer.rules \
            ./usr/lib/sysusers.d/pynq-infer.conf; do
  grep -qxF "${path}" "${work}/files" || { echo "the package lacks ${path}"; exit 1; }
done
# Listed to a file first: grep -q stopping early would fail the pipeline with SIGPIPE.
dpkg-deb --ctrl-tarfile "${deb}" | tar -t >"${work}/control-files"
for script in ./postinst ./prerm ./postrm ./conffiles; do
  grep -qxF "${script}" "${work}/control-files" || { echo "the package lacks ${script}"; exit 1; }
done

# 2. The packaged daemon under qemu, driven by the host's end-to-end test.
dpkg-deb -x "${deb}" "${work}/root"
file -b "${work}/root/usr/bin/pynq-inferd" | head -c 60
echo
# The packaged CPU benchmark starts and measures the packaged models (figures under qemu mean
# nothing; that it runs on the target architecture does).
"${qemu[@]}" "${work}/root/usr/bin/pynq-infer-cpu-bench" \
  --model_dir="${work}/root/usr/share/pynq-infer/models" --batch=8 --seconds=0.01 --repeats=1 \
  >"${work}/cpu-bench.txt" 2>&1 || { cat "${work}/cpu-bench.txt"; exit 1; }
grep -Eq "^mnist-lenet5-int8 +portable +8 +[0-9]+" "${work}/cpu-bench.txt" ||
  { cat "${work}/cpu-bench.txt"; echo "pynq-infer-cpu-bench printed no figures"; exit 1; }
head -1 "${work}/cpu-bench.txt"
{
  echo '#!/bin/sh'
  printf 'exec'
  printf ' %q' "${qemu[@]}" "${work}/root/usr/bin/pynq-inferd" \
    "--flagfile=${work}/root/etc/pynq-infer/pynq-inferd.flags"
  echo ' "$@"'
} >"${work}/pynq-inferd"
chmod +x "${work}/pynq-inferd"
PYNQ_INFERD="${work}/pynq-inferd" PYNQ_INFER_CLI="${host_dir}/clients/pynq-infer" \
  PYNQ_SOURCE_DIR="${src}" "${host_dir}/tests/daemon_e2e_test" --gtest_brief=1

# 3. The Python client's package.
if [[ "${arch}" == "amd64" ]]; then
  rm -f "${cross_dir}"/python3-pynq-infer_*_all.deb
  cmake --build "${cross_dir}" --target python3-pynq-infer-deb >"${work}/pydeb.log" 2>&1 ||
    { cat "${work}/pydeb.log"; exit 1; }
  pydeb=$(ls "${cross_dir}"/python3-pynq-infer_*_all.deb)
  echo "package: ${pydeb##*/} ($(du -k "${pydeb}" | cut -f1) KiB)"
  [[ "$(dpkg-deb -f "${pydeb}" Architecture)" == all ]] || { echo "python3-pynq-infer: not Architecture: all"; exit 1; }
  pydepends=$(dpkg-deb -f "${pydeb}" Depends)
  echo "Depends: ${pydepends}"
  for needed in python3-grpcio python3-protobuf python3-numpy; do
    [[ "${pydepends}" == *"${needed}"* ]] || { echo "python3-pynq-infer Depends lacks ${needed}"; exit 1; }
  done
  dpkg-deb -c "${pydeb}" | awk '{print $6}' >"${work}/pyfiles"
  dist=./usr/lib/python3/dist-packages/pynq_infer
  for path in ${dist}/__init__.py ${dist}/client.py ${dist}/_version.py ${dist}/v1/inference_pb2.py \
              ${dist}/v1/inference_pb2_grpc.py \
              ./usr/share/doc/python3-pynq-infer/examples/classify_digits.ipynb; do
    grep -qxF "${path}" "${work}/pyfiles" || { echo "python3-pynq-infer lacks ${path}"; exit 1; }
  done
  dpkg-deb -x "${pydeb}" "${work}/pyroot"
  if ! (cd "${src}/clients/python/tests" &&
        PYTHONPATH="${work}/pyroot/usr/lib/python3/dist-packages" PYTHONDONTWRITEBYTECODE=1 \
        PYNQ_INFERD="${work}/pynq-inferd" PYNQ_INFER_CLI="${host_dir}/clients/pynq-infer" \
        PYNQ_SOURCE_DIR="${src}" /usr/bin/python3 -m unittest test_client test_security \
        >"${work}/pytest.log" 2>&1); then
    cat "${work}/pytest.log"
    echo "the packaged Python client failed its tests"
    exit 1
  fi
  tail -3 "${work}/pytest.log"
fi
