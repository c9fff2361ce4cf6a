#include "accel/fpga/overlay_manifest.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace pynq::accel {

namespace {

const std::set<std::string, std::less<>> kKeys = {
    "format",       "board",         "device", "bitstream", "hwh",     "ip_name",
    "clock_mhz",    "base_address",  "address_range",       "uio",     "udmabuf",
    "device_index"};

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("overlay manifest: ", what));
}

// Accepts decimal or 0x-prefixed hexadecimal.
bool ParseU64(absl::string_view text, uint64_t* value) {
  if (absl::StartsWithIgnoreCase(text, "0x")) {
    return absl::SimpleHexAtoi(text.substr(2), value);
  }
  return absl::SimpleAtoi(text, value);
}

std::string Resolve(const std::string& dir, const std::string& file) {
  if (file.empty() || std::filesystem::path(file).is_absolute() || dir.empty()) return file;
  return (std::filesystem::path(dir) / file).string();
}

}  // namespace

absl::StatusOr<OverlayManifest> ParseOverlayManifest(const std::string& text,
                                                     const std::string& dir) {
  std::map<std::string, std::string, std::less<>> values;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return Bad(absl::StrFormat("line %d is not `key = value`: \"%s\"", line_number, line));
    }
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (kKeys.count(key) == 0) {
      return Bad(absl::StrFormat("line %d: unknown key \"%s\"", line_number, key));
    }
    if (!values.emplace(key, value).second) {
      return Bad(absl::StrFormat("line %d: key \"%s\" given twice", line_number, key));
    }
  }
  auto get = [&](const char* key) {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  };
  for (const char* key : {"format", "board", "device", "bitstream", "ip_name", "clock_mhz"}) {
    if (get(key).empty()) return Bad(absl::StrFormat("required key \"%s\" is missing", key));
  }
  if (get("format") != "1") {
    return Bad(absl::StrFormat("format is \"%s\"; this daemon reads format 1", get("format")));
  }
  OverlayManifest m;
  m.board = get("board");
  m.device = get("device");
  m.bitstream = Resolve(dir, get("bitstream"));
  m.hwh = Resolve(dir, get("hwh"));
  m.ip_name = get("ip_name");
  m.uio = get("uio");
  m.udmabuf = get("udmabuf");
  if (!absl::SimpleAtod(get("clock_mhz"), &m.clock_mhz) || !(m.clock_mhz > 0)) {
    return Bad(absl::StrFormat("clock_mhz \"%s\" is not a positive number", get("clock_mhz")));
  }
  if (m.device == "mmio") {
    for (const char* key : {"base_address", "address_range", "udmabuf"}) {
      if (get(key).empty()) {
        return Bad(absl::StrFormat("device mmio needs key \"%s\"", key));
      }
    }
    if (!ParseU64(get("base_address"), &m.base_address) ||
        !ParseU64(get("address_range"), &m.address_range) || m.address_range == 0) {
      return Bad(absl::StrFormat("base_address \"%s\" / address_range \"%s\" are not numbers",
                                 get("base_address"), get("address_range")));
    }
  } else if (m.device == "xrt") {
    uint64_t index = 0;
    if (!get("device_index").empty() && !ParseU64(get("device_index"), &index)) {
      return Bad(absl::StrFormat("device_index \"%s\" is not a number", get("device_index")));
    }
    m.device_index = static_cast<uint32_t>(index);
  } else {
    return Bad(absl::StrFormat("device \"%s\" is neither mmio nor xrt", m.device));
  }
  return m;
}

absl::StatusOr<OverlayManifest> ReadOverlayManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read overlay manifest ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<OverlayManifest> manifest =
      ParseOverlayManifest(text.str(), std::filesystem::path(path).parent_path().string());
  if (!manifest.ok()) {
    return Annotate(manifest.status(), path);
  }
  return manifest;
}

}  // namespace pynq::accel
