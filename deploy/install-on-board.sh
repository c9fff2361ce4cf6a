#!/usr/bin/env bash
# Installs pynq-infer on a board from its .deb, with the overlay files, and checks the service
# comes up. Run on the board, as root, on a Debian 12 (bookworm) userland of the board's
# architecture (armhf: PYNQ-Z1/Z2; arm64: KV260, ZCU104, Ultra96):
#
#   deploy/install-on-board.sh pynq-infer_0.1.0_armhf.deb [OVERLAY_FILE...]
#
# OVERLAY_FILE: the overlay's files (bitstream, xclbin, manifest, as overlays/ produces them)
# go into /lib/firmware/pynq-infer/, where the FPGA manager's firmware loader finds them.
# Idempotent: installing the same package and files again restarts the service.
set -euo pipefail

deb=${1:?usage: install-on-board.sh PACKAGE.deb [OVERLAY_FILE...]}
shift
[[ $(id -u) -eq 0 ]] || { echo "install-on-board: run as root" >&2; exit 1; }
board_arch=$(dpkg --print-architecture)
deb_arch=$(dpkg-deb -f "${deb}" Architecture)
if [[ "${board_arch}" != "${deb_arch}" ]]; then
  echo "install-on-board: ${deb} is for ${deb_arch}, this board is ${board_arch}" >&2
  exit 1
fi

# apt resolves the Depends (gRPC, Abseil, ...) from the board's archive; the postinst creates
# the pynq-infer user, reloads udev and enables the unit.
apt-get install -y "$(realpath "${deb}")"

for overlay in "$@"; do
  install -m 0644 "${overlay}" /lib/firmware/pynq-infer/
  echo "install-on-board: overlay file $(basename "${overlay}") -> /lib/firmware/pynq-infer/"
done

udevadm control --reload
udevadm trigger --subsystem-match=uio --subsystem-match=u-dma-buf --subsystem-match=drm \
  --subsystem-match=fpga_manager
systemctl daemon-reload
systemctl enable pynq-inferd.service
# Type=notify: restart returns once the daemon sent READY=1 (models loaded, serving), or fails.
if ! systemctl restart pynq-inferd.service; then
  journalctl -u pynq-inferd.service -n 40 --no-pager
  exit 1
fi
systemctl status pynq-inferd.service --no-pager --lines=8 || true
echo "PL owner: pid $(cat /run/pynq-infer/pl.lock)"
pynq-infer health --server=127.0.0.1:50051
pynq-infer models --server=127.0.0.1:50051
