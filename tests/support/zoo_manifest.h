// The manifest of the shipped models, models/zoo.tsv: for each model its file, its test images and
// labels, its golden scores and the accuracy it must reach. Read by the tests that run every
// shipped model (models/README.md describes the file; models/zoo.py reads it for Python).
//
//   PYNQ_ASSIGN_OR_RETURN(std::vector<ZooEntry> zoo, ReadZooManifest(SourceDir() + "/models"));
//   for (const ZooEntry& e : zoo) { ... e.model_path ... e.min_accuracy_pct ... }
#ifndef PYNQ_TESTS_SUPPORT_ZOO_MANIFEST_H_
#define PYNQ_TESTS_SUPPORT_ZOO_MANIFEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pynq::testing {

struct ZooEntry {
  std::string name;
  // Absolute paths.
  std::string model_path;
  std::string images_path;
  std::string labels_path;
  std::string golden_path;
  double min_accuracy_pct = 0;
};

// Reads `models_dir`/zoo.tsv; relative paths in it are resolved against `models_dir`. Errors: the
// file's read error, or kInvalidArgument naming the line that is malformed. Blocks on file I/O.
absl::StatusOr<std::vector<ZooEntry>> ReadZooManifest(const std::string& models_dir);

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_ZOO_MANIFEST_H_
