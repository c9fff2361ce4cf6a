#include "tests/support/zoo_manifest.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::testing {
namespace {

using ::testing::HasSubstr;

class ZooManifestTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(temp_.path() + "/zoo.tsv") << text; }

  TestTempDir temp_;
};

TEST_F(ZooManifestTest, ResolvesRelativePathsAgainstTheModelsDirectory) {
  Write("# comment\n\nnet\tdata/i.idx\tdata/l.idx\tgolden/net.idx\t91.5\n"
        "other\t/abs/i.gz\t/abs/l.gz\tgolden/other.idx\t80\n");
  absl::StatusOr<std::vector<ZooEntry>> zoo = ReadZooManifest(temp_.path());
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  ASSERT_EQ(zoo->size(), 2u);
  const ZooEntry& net = (*zoo)[0];
  EXPECT_EQ(net.name, "net");
  EXPECT_EQ(net.model_path, temp_.path() + "/zoo/net.pim");
  EXPECT_EQ(net.images_path, temp_.path() + "/data/i.idx");
  EXPECT_EQ(net.labels_path, temp_.path() + "/data/l.idx");
  EXPECT_EQ(net.golden_path, temp_.path() + "/golden/net.idx");
  EXPECT_DOUBLE_EQ(net.min_accuracy_pct, 91.5);
  EXPECT_EQ((*zoo)[1].images_path, "/abs/i.gz");
  EXPECT_EQ((*zoo)[1].labels_path, "/abs/l.gz");
}

TEST_F(ZooManifestTest, AMalformedLineIsInvalidArgumentNamingIt) {
  Write("net\tdata/i.idx\tdata/l.idx\tgolden/net.idx\t91\nbad\tonly-two\n");
  absl::StatusOr<std::vector<ZooEntry>> zoo = ReadZooManifest(temp_.path());
  EXPECT_EQ(zoo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zoo.status().message(), HasSubstr("zoo.tsv:2: expected 5 tab-separated fields"));
  EXPECT_THAT(zoo.status().message(), HasSubstr("\"bad\tonly-two\""));
}

TEST_F(ZooManifestTest, AManifestWithoutModelsIsInvalidArgument) {
  Write("# nothing yet\n");
  EXPECT_EQ(ReadZooManifest(temp_.path()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ZooManifestTest, AMissingManifestIsNotFound) {
  EXPECT_EQ(ReadZooManifest(temp_.path()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pynq::testing
