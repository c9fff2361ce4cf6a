// Whether this machine has programmable logic the daemon could use, read from sysfs: the Linux
// FPGA manager (/sys/class/fpga_manager/fpgaN, how Zynq-7000 and ZynqMP load bitstreams) and XRT
// render nodes (/sys/class/drm/renderDN whose driver is zocl, XRT's edge driver on ZynqMP, or
// xocl on a PCIe card), which XRT opens as /dev/dri/renderDN.
//
//   FpgaPresence fpga = DetectFpga();
//   if (!fpga.present()) spdlog::warn("{}", fpga.Describe());  // "no FPGA found: ..."
//
// It only looks; it loads nothing and owns nothing (see PlLock). DetectFpga() reads files and
// directories, never blocks on a device, and is thread-safe.
#ifndef PYNQ_SERVICE_FPGA_PRESENCE_H_
#define PYNQ_SERVICE_FPGA_PRESENCE_H_

#include <string>
#include <vector>

namespace pynq::service {

struct FpgaManager {
  std::string sysfs_path;  // e.g. "/sys/class/fpga_manager/fpga0"
  std::string name;        // low-level driver, e.g. "Xilinx ZynqMP FPGA Manager"
  std::string state;       // e.g. "operating", "power up"
};

struct XrtRenderNode {
  std::string device;  // e.g. "/dev/dri/renderD128"
  std::string driver;  // "zocl" or "xocl"
};

struct FpgaPresence {
  std::vector<FpgaManager> managers;
  std::vector<XrtRenderNode> xrt_nodes;

  bool present() const { return !managers.empty() || !xrt_nodes.empty(); }
  // One line for the log, naming what was found or where it looked.
  std::string Describe() const;
};

// Looks under `sysfs_root` (the real "/sys", or a tree a test built). Entries that cannot be
// read are skipped: a half-visible device is not a usable one.
FpgaPresence DetectFpga(const std::string& sysfs_root = "/sys");

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_FPGA_PRESENCE_H_
