#include "tests/support/test_data.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/support/source_dir.h"

namespace pynq::testing {

namespace {

absl::StatusOr<TestSet> ReadFiles(const std::string& images_path, const std::string& labels_path,
                                  const std::string& golden_path) {
  TestSet set;
  absl::StatusOr<clients::GrayImages> images = clients::ReadIdxImages(images_path);
  if (!images.ok()) return images.status();
  set.images = *std::move(images);
  absl::StatusOr<std::vector<uint8_t>> labels = clients::ReadIdxLabels(labels_path);
  if (!labels.ok()) return labels.status();
  set.labels = *std::move(labels);
  absl::StatusOr<clients::Int32Matrix> golden = clients::ReadIdxInt32Matrix(golden_path);
  if (!golden.ok()) return golden.status();
  set.golden = *std::move(golden);
  if (set.labels.size() != set.images.count || set.golden.rows != set.images.count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the test set's files disagree: ", images_path, " holds ", set.images.count, " images, ",
        labels_path, " ", set.labels.size(), " labels, ", golden_path, " ", set.golden.rows,
        " rows of scores"));
  }
  return set;
}

}  // namespace

std::string ShippedModelPath(absl::string_view model) {
  return absl::StrCat(SourceDir(), "/models/zoo/", model, ".pim");
}

std::string HeldOutImagesPath() {
  return SourceDir() + "/models/data/mnist-heldout-images.idx3-ubyte";
}

std::string HeldOutLabelsPath() {
  return SourceDir() + "/models/data/mnist-heldout-labels.idx1-ubyte";
}

std::string HeldOutGoldenPath(absl::string_view model) {
  return absl::StrCat(SourceDir(), "/models/golden/", model, ".heldout-scores.idx2-int");
}

absl::StatusOr<TestSet> ReadHeldOutSet(absl::string_view model) {
  return ReadFiles(HeldOutImagesPath(), HeldOutLabelsPath(), HeldOutGoldenPath(model));
}

absl::StatusOr<TestSet> ReadTestSet(const ZooEntry& entry) {
  return ReadFiles(entry.images_path, entry.labels_path, entry.golden_path);
}

}  // namespace pynq::testing
