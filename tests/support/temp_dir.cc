#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pynq::testing {

namespace {

std::string DefaultParent() {
  // The variable GoogleTest's ::testing::TempDir() honours too.
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

TestTempDir CreateOrAbort(const TestTempDir::Options& options) {
  absl::StatusOr<TestTempDir> dir = TestTempDir::Create(options);
  if (!dir.ok()) {
    std::fprintf(stderr, "TestTempDir: %s\n", dir.status().ToString().c_str());
    std::abort();
  }
  return *std::move(dir);
}

}  // namespace

absl::StatusOr<TestTempDir> TestTempDir::Create(const Options& options) {
  const std::string parent = options.parent.empty() ? DefaultParent() : options.parent;
  const std::string pattern = absl::StrCat(parent, "/", options.prefix, "XXXXXX");
  std::string path = pattern;  // mkdtemp(3) rewrites the Xs, even when it fails
  if (mkdtemp(path.data()) == nullptr) {
    const int error = errno;
    return absl::InternalError(absl::StrCat("cannot make a directory ", pattern, ": ",
                                            std::generic_category().message(error)));
  }
  return TestTempDir(std::move(path));
}

TestTempDir::TestTempDir() : TestTempDir(CreateOrAbort({})) {}

TestTempDir::TestTempDir(const Options& options) : TestTempDir(CreateOrAbort(options)) {}

TestTempDir::~TestTempDir() { Remove(); }

TestTempDir::TestTempDir(TestTempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}

TestTempDir& TestTempDir::operator=(TestTempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

void TestTempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TestTempPath(absl::string_view name) {
  // A function-local static: made once, thread-safely, and destroyed (removed) at exit.
  static const TestTempDir dir;
  return absl::StrCat(dir.path(), "/", name);
}

}  // namespace pynq::testing
