#include "tests/support/zoo_manifest.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "clients/file_io.h"

namespace pynq::testing {

namespace {

constexpr size_t kColumns = 5;

std::string Resolve(const std::string& models_dir, absl::string_view path) {
  return absl::StartsWith(path, "/") ? std::string(path) : absl::StrCat(models_dir, "/", path);
}

}  // namespace

absl::StatusOr<std::vector<ZooEntry>> ReadZooManifest(const std::string& models_dir) {
  const std::string path = models_dir + "/zoo.tsv";
  absl::StatusOr<std::string> text = clients::ReadFileBytes(path);
  if (!text.ok()) return text.status();
  std::vector<ZooEntry> entries;
  size_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    ZooEntry entry;
    if (fields.size() != kColumns || !absl::SimpleAtod(fields[4], &entry.min_accuracy_pct)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d: expected %d tab-separated fields ending in a number, got \"%s\"", path,
          line_number, kColumns, line));
    }
    entry.name = std::string(fields[0]);
    entry.model_path = absl::StrCat(models_dir, "/zoo/", fields[0], ".pim");
    entry.images_path = Resolve(models_dir, fields[1]);
    entry.labels_path = Resolve(models_dir, fields[2]);
    entry.golden_path = Resolve(models_dir, fields[3]);
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " lists no model"));
  return entries;
}

}  // namespace pynq::testing
