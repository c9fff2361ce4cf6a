#include "service/security/secret_file.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service::security {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/pynq-secret-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }

  std::string dir_;
};

TEST_F(SecretFileTest, ReadsAFileOnlyItsOwnerMayRead) {
  EXPECT_EQ(*ReadSecretFile("--x", Write("a", "secret\n", 0600)), "secret\n");
  EXPECT_EQ(*ReadSecretFile("--x", Write("b", "secret", 0400)), "secret");
}

TEST_F(SecretFileTest, RefusesAFileItsGroupOrOthersMayReadOrWrite) {
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602, 0666}) {
    const std::string path = Write("t", "secret", mode);
    absl::StatusOr<std::string> read = ReadSecretFile("--admin_token_file", path);
    ASSERT_FALSE(read.ok()) << std::oct << mode;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(read.status().message(),
                AllOf(HasSubstr("--admin_token_file"), HasSubstr(path),
                      HasSubstr("readable or writable by its group or by others"),
                      HasSubstr("chmod 600")));
  }
}

TEST_F(SecretFileTest, NamesAMissingFileAndADirectory) {
  absl::StatusOr<std::string> missing = ReadSecretFile("--x", dir_ + "/none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_ + "/none"));
  chmod(dir_.c_str(), 0700);
  EXPECT_EQ(ReadSecretFile("--x", dir_).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SecretFileTest, BearerTokenDropsTheTrailingNewline) {
  const std::string token = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(*ReadBearerTokenFile("--x", Write("t", token + "\n", 0600)), token);
  EXPECT_EQ(*ReadBearerTokenFile("--x", Write("u", token + "\r\n", 0600)), token);
  EXPECT_EQ(*ReadBearerTokenFile("--x", Write("v", "AbC+/_-.~0123456789==", 0600)),
            "AbC+/_-.~0123456789==");
}

TEST_F(SecretFileTest, BearerTokenMustBeALongToken68WithoutQuotingIt) {
  for (const std::string bad :
       {"", "short", "0123456789abcdef 0123", "0123456789abcdef\n0123", "==0123456789abcdef",
        "0123456789abcdef=x", "0123456789abcdef\"", "ünïcödé0123456789"}) {
    absl::StatusOr<std::string> read = ReadBearerTokenFile("--x", Write("t", bad, 0600));
    ASSERT_FALSE(read.ok()) << bad;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(read.status().message(), HasSubstr("not a bearer token"));
    if (!bad.empty()) {
      EXPECT_THAT(read.status().message(), ::testing::Not(HasSubstr(bad)));
    }
  }
  // The file's mode is checked before its content.
  EXPECT_EQ(ReadBearerTokenFile("--x", Write("w", "short", 0644)).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(IsToken68Test, FollowsRfc7235) {
  EXPECT_TRUE(IsToken68("a"));
  EXPECT_TRUE(IsToken68("a=="));
  EXPECT_TRUE(IsToken68("A-._~+/9"));
  EXPECT_FALSE(IsToken68(""));
  EXPECT_FALSE(IsToken68("="));
  EXPECT_FALSE(IsToken68("a=b"));
  EXPECT_FALSE(IsToken68("a b"));
}

}  // namespace
}  // namespace pynq::service::security
