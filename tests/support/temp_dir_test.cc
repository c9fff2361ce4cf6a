#include "tests/support/temp_dir.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(TestTempDirTest, MakesAPrivateDirectoryAndRemovesItWithEverythingInIt) {
  std::string path;
  {
    TestTempDir dir;
    path = dir.path();
    ASSERT_TRUE(fs::is_directory(path)) << path;
    EXPECT_THAT(fs::path(path).filename().string(), StartsWith("pynq-test-"));
    struct stat info {};
    ASSERT_EQ(stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
    fs::create_directory(path + "/sub");
    std::ofstream(path + "/sub/file") << "data";
    ASSERT_TRUE(fs::exists(path + "/sub/file"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TestTempDirTest, EachDirectoryIsNew) {
  TestTempDir a;
  TestTempDir b;
  EXPECT_NE(a.path(), b.path());
}

TEST(TestTempDirTest, CreateTakesParentAndPrefix) {
  TestTempDir outer;
  absl::StatusOr<TestTempDir> inner = TestTempDir::Create({.parent = outer.path(), .prefix = "x-"});
  ASSERT_TRUE(inner.ok()) << inner.status();
  EXPECT_THAT(inner->path(), StartsWith(outer.path() + "/x-"));
  EXPECT_TRUE(fs::is_directory(inner->path()));
}

TEST(TestTempDirTest, CreateNamesThePathAndTheReasonItFailed) {
  absl::StatusOr<TestTempDir> dir = TestTempDir::Create({.parent = "/nonexistent/parent"});
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(dir.status().message(), HasSubstr("/nonexistent/parent/pynq-test-XXXXXX"));
  EXPECT_THAT(dir.status().message(), HasSubstr("No such file or directory"));
}

TEST(TestTempDirTest, MovingHandsOverTheDirectory) {
  TestTempDir first;
  const std::string path = first.path();
  std::string replaced;
  {
    TestTempDir second(std::move(first));
    EXPECT_EQ(second.path(), path);
    EXPECT_TRUE(first.path().empty());  // the moved-from object owns nothing
    TestTempDir third;
    replaced = third.path();
    third = std::move(second);
    EXPECT_EQ(third.path(), path);
    EXPECT_FALSE(fs::exists(replaced)) << "assigning over a directory removes it";
    EXPECT_TRUE(fs::is_directory(path));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TestTempPathTest, NamesFilesInOneDirectoryOfTheBinary) {
  const fs::path a = TestTempPath("a.idx");
  const fs::path b = TestTempPath("b.idx");
  EXPECT_EQ(a.filename(), "a.idx");
  EXPECT_EQ(a.parent_path(), b.parent_path());
  EXPECT_TRUE(fs::is_directory(a.parent_path()));
  EXPECT_FALSE(fs::exists(a)) << "only the directory is made";
}

}  // namespace
}  // namespace pynq::testing
