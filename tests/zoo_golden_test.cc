// Every shipped model on the CPU backend, over its whole test set: the scores equal the Python
// integer reference's golden file bit for bit, and the accuracy meets the model's target
// (models/zoo.tsv lists both).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/source_dir.h"
#include "tests/support/test_data.h"
#include "tests/support/zoo_manifest.h"

namespace pynq {
namespace {

constexpr size_t kBatch = 256;

TEST(ZooGoldenTest, CpuBackendReproducesEveryGoldenFile) {
  absl::StatusOr<std::vector<testing::ZooEntry>> zoo =
      testing::ReadZooManifest(testing::SourceDir() + "/models");
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  for (const testing::ZooEntry& entry : *zoo) {
    SCOPED_TRACE(entry.name);
    absl::StatusOr<std::shared_ptr<const accel::Model>> model =
        accel::Model::LoadFile(entry.model_path);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->name(), entry.name);
    auto set = testing::ReadTestSet(entry);
    ASSERT_TRUE(set.ok()) << set.status();
    const auto& images = set->images;
    const auto& labels = set->labels;
    const auto& golden = set->golden;
    const size_t classes = (*model)->num_classes();
    ASSERT_EQ(images.image_bytes(), (*model)->input_bytes());
    ASSERT_EQ(golden.rows, images.count);
    ASSERT_EQ(golden.cols, classes);
    ASSERT_EQ(labels.size(), images.count);

    auto cpu = accel::CpuAccelerator::Create(*model, {.max_batch_size = kBatch});
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    std::vector<int32_t> scores(images.count * classes);
    for (size_t first = 0; first < images.count; first += kBatch) {
      const size_t n = std::min(kBatch, images.count - first);
      ASSERT_TRUE((*cpu)
                      ->Run(absl::MakeConstSpan(images.pixels)
                                .subspan(first * images.image_bytes(), n * images.image_bytes()),
                            absl::MakeSpan(scores).subspan(first * classes, n * classes))
                      .ok());
    }
    size_t correct = 0;
    size_t mismatches = 0;
    for (size_t i = 0; i < images.count; ++i) {
      const absl::Span<const int32_t> row = absl::MakeConstSpan(scores).subspan(i * classes, classes);
      if (!std::equal(row.begin(), row.end(), golden.row(i).begin()) && ++mismatches <= 3) {
        ADD_FAILURE() << "image " << i << ": scores " << ::testing::PrintToString(row)
                      << ", golden " << ::testing::PrintToString(golden.row(i));
      }
      const auto predicted = static_cast<size_t>(std::max_element(row.begin(), row.end()) -
                                                 row.begin());
      correct += predicted == labels[i] ? 1 : 0;
    }
    EXPECT_EQ(mismatches, 0u);
    const double accuracy = 100.0 * static_cast<double>(correct) / images.count;
    EXPECT_GE(accuracy, entry.min_accuracy_pct);
    std::printf("%-20s %5u images  accuracy %.2f%% (target %.1f%%)  golden: %s\n",
                entry.name.c_str(), images.count, accuracy, entry.min_accuracy_pct,
                mismatches == 0 ? "identical" : "DIFFERENT");
  }
}

}  // namespace
}  // namespace pynq
