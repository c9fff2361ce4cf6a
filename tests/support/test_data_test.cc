#include "tests/support/test_data.h"

#include <algorithm>
#include <string>
#include <vector>

#include "clients/idx_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"
#include "tests/support/zoo_manifest.h"

namespace pynq::testing {
namespace {

using ::testing::HasSubstr;

TEST(TestDataTest, HeldOutSetIsTwoThousandLabelledDigitsWithTheirGoldenScores) {
  absl::StatusOr<TestSet> set = ReadHeldOutSet("mnist-bnn-tfc");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->images.count, 2000u);
  EXPECT_EQ(set->images.height, 28u);
  EXPECT_EQ(set->images.width, 28u);
  ASSERT_EQ(set->labels.size(), 2000u);
  EXPECT_EQ(*std::max_element(set->labels.begin(), set->labels.end()), 9);
  EXPECT_EQ(set->golden.rows, 2000u);
  EXPECT_EQ(set->golden.cols, 10u);
}

TEST(TestDataTest, AModelWithoutGoldenScoresIsNotFound) {
  absl::StatusOr<TestSet> set = ReadHeldOutSet("no-such-model");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr(HeldOutGoldenPath("no-such-model")));
}

TEST(TestDataTest, FilesThatDisagreeAreRejectedNamingThem) {
  const std::string golden = TestTempPath("three-rows.idx2-int");
  ASSERT_TRUE(clients::WriteIdxInt32Matrix(
                  golden, {.rows = 3, .cols = 2, .values = {1, 2, 3, 4, 5, 6}})
                  .ok());
  const ZooEntry entry{.name = "short",
                       .images_path = HeldOutImagesPath(),
                       .labels_path = HeldOutLabelsPath(),
                       .golden_path = golden};
  absl::StatusOr<TestSet> set = ReadTestSet(entry);
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(set.status().message(), HasSubstr(HeldOutImagesPath() + " holds 2000 images"));
  EXPECT_THAT(set.status().message(), HasSubstr(golden + " 3 rows of scores"));
}

// The paths written here and the ones in models/zoo.tsv are the same files.
TEST(TestDataTest, ZooManifestNamesTheSameFiles) {
  absl::StatusOr<std::vector<ZooEntry>> zoo = ReadZooManifest(SourceDir() + "/models");
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  int mnist = 0;
  for (const ZooEntry& entry : *zoo) {
    EXPECT_EQ(entry.model_path, ShippedModelPath(entry.name));
    if (entry.images_path != HeldOutImagesPath()) continue;
    ++mnist;
    EXPECT_EQ(entry.labels_path, HeldOutLabelsPath()) << entry.name;
    EXPECT_EQ(entry.golden_path, HeldOutGoldenPath(entry.name)) << entry.name;
  }
  EXPECT_EQ(mnist, 3);
}

}  // namespace
}  // namespace pynq::testing
