// The data the shipped models are checked against, read the same way by every test: a model's
// test images, their labels, and the model's golden scores on them (what the integer reference,
// models/reference.py, computes; every backend must reproduce them bit for bit).
//
// The MNIST models are checked on the held-out split of models/data (2000 images that no model
// was trained on; models/mnist_split.py makes it), the Fashion-MNIST ones on Debian's test set;
// models/zoo.tsv lists which is which (tests/support/zoo_manifest.h reads it).
//
//   absl::StatusOr<TestSet> heldout = ReadHeldOutSet("mnist-bnn-tfc");
//   ASSERT_TRUE(heldout.ok()) << heldout.status();
//   accelerator->Run(absl::MakeConstSpan(heldout->images.pixels), absl::MakeSpan(scores));
//   EXPECT_EQ(scores, heldout->golden.values);
//
// The readers block on file I/O; every function is thread-safe.
#ifndef PYNQ_TESTS_SUPPORT_TEST_DATA_H_
#define PYNQ_TESTS_SUPPORT_TEST_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "clients/idx_file.h"
#include "clients/image_io.h"
#include "tests/support/zoo_manifest.h"

namespace pynq::testing {

// One model's test set: the images, their labels, and one row of the model's golden scores per
// image (golden.cols is its number of classes). Invariant, checked when read: images.count ==
// labels.size() == golden.rows.
struct TestSet {
  clients::GrayImages images;
  std::vector<uint8_t> labels;
  clients::Int32Matrix golden;
};

// Files of the checkout (SourceDir()).
// models/zoo/<model>.pim: a shipped model.
std::string ShippedModelPath(absl::string_view model);
// models/data/mnist-heldout-images.idx3-ubyte: uint8 [2000, 28, 28].
std::string HeldOutImagesPath();
// models/data/mnist-heldout-labels.idx1-ubyte: uint8 [2000].
std::string HeldOutLabelsPath();
// models/golden/<model>.heldout-scores.idx2-int: int32 [2000, classes], the golden scores of a
// shipped MNIST model on the held-out split.
std::string HeldOutGoldenPath(absl::string_view model);

// The held-out split with `model`'s golden scores. Errors: those of clients/idx_file.h for a file
// that cannot be read or is not the IDX expected (NOT_FOUND for a model without golden scores);
// kInvalidArgument, naming the files and counts, when the files disagree in image count.
absl::StatusOr<TestSet> ReadHeldOutSet(absl::string_view model);

// `entry`'s test set (a line of models/zoo.tsv). Errors as ReadHeldOutSet().
absl::StatusOr<TestSet> ReadTestSet(const ZooEntry& entry);

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_TEST_DATA_H_
