#include "tests/support/source_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace pynq::testing {
namespace {

// Sets or unsets $PYNQ_SOURCE_DIR for one test and restores it afterwards.
class SourceDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* value = std::getenv("PYNQ_SOURCE_DIR")) saved_ = value;
  }
  void TearDown() override {
    if (saved_) {
      setenv("PYNQ_SOURCE_DIR", saved_->c_str(), 1);
    } else {
      unsetenv("PYNQ_SOURCE_DIR");
    }
  }

  std::optional<std::string> saved_;
};

TEST_F(SourceDirTest, IsTheVariableWhenSet) {
  setenv("PYNQ_SOURCE_DIR", "/elsewhere/checkout", 1);
  EXPECT_EQ(SourceDir(), "/elsewhere/checkout");
}

TEST_F(SourceDirTest, IsTheCheckoutOfThisBuildWhenUnsetOrEmpty) {
  unsetenv("PYNQ_SOURCE_DIR");
  const std::string unset = SourceDir();
  EXPECT_TRUE(std::filesystem::exists(unset + "/models/zoo.tsv")) << unset;
  setenv("PYNQ_SOURCE_DIR", "", 1);
  EXPECT_EQ(SourceDir(), unset);
}

}  // namespace
}  // namespace pynq::testing
