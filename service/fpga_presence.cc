#include "service/fpga_presence.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace pynq::service {

namespace fs = std::filesystem;

namespace {

// The first line of a sysfs attribute, or nullopt if it cannot be read.
std::optional<std::string> ReadAttribute(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return std::string(absl::StripTrailingAsciiWhitespace(line));
}

// The entries of a sysfs class directory whose names start with `prefix`, sorted so the log
// and the tests see them in a stable order. Missing directory: none.
std::vector<fs::path> ClassEntries(const fs::path& dir, absl::string_view prefix) {
  std::vector<fs::path> entries;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    if (absl::StartsWith(it->path().filename().string(), prefix)) entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

FpgaPresence DetectFpga(const std::string& sysfs_root) {
  FpgaPresence found;
  for (const fs::path& dir : ClassEntries(fs::path(sysfs_root) / "class/fpga_manager", "fpga")) {
    std::optional<std::string> name = ReadAttribute(dir / "name");
    std::optional<std::string> state = ReadAttribute(dir / "state");
    if (!name || !state) continue;
    found.managers.push_back({.sysfs_path = dir.string(), .name = *name, .state = *state});
  }
  // A render node's device/driver link names its kernel driver; only XRT's own drivers count
  // (a GPU's render node is not programmable logic).
  for (const fs::path& node : ClassEntries(fs::path(sysfs_root) / "class/drm", "renderD")) {
    std::error_code error;
    const fs::path driver = fs::read_symlink(node / "device/driver", error);
    if (error) continue;
    const std::string driver_name = driver.filename().string();
    if (driver_name != "zocl" && driver_name != "xocl") continue;
    found.xrt_nodes.push_back(
        {.device = "/dev/dri/" + node.filename().string(), .driver = driver_name});
  }
  return found;
}

std::string FpgaPresence::Describe() const {
  if (!present()) {
    return "no FPGA found: no /sys/class/fpga_manager/fpga* and no XRT render node "
           "(/sys/class/drm/renderD* with driver zocl or xocl)";
  }
  std::vector<std::string> parts;
  for (const FpgaManager& m : managers) {
    parts.push_back(absl::StrCat("FPGA manager ", m.sysfs_path, " (", m.name, ", state ",
                                 m.state, ")"));
  }
  for (const XrtRenderNode& n : xrt_nodes) {
    parts.push_back(absl::StrCat("XRT device ", n.device, " (driver ", n.driver, ")"));
  }
  return absl::StrCat("FPGA found: ", absl::StrJoin(parts, "; "));
}

}  // namespace pynq::service
