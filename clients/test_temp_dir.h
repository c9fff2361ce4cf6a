// Test-only: a private directory for the files one test binary writes, removed when the binary
// exits. Private so that test binaries running at the same time (several build trees testing at
// once share /tmp) never read each other's files.
//
//   std::string path = TestTempPath("scores.idx");  // <TempDir>/pynq_clients_XXXXXX/scores.idx
#ifndef PYNQ_CLIENTS_TEST_TEMP_DIR_H_
#define PYNQ_CLIENTS_TEST_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace pynq::clients {

class TestTempDir {
 public:
  TestTempDir() {
    std::string pattern = absl::StrCat(::testing::TempDir(), "/pynq_clients_XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << pattern << ") failed";
    }
    path_ = pattern;
  }
  ~TestTempDir() {
    std::error_code ignored;  // Best effort: a leftover directory must not fail the run.
    std::filesystem::remove_all(path_, ignored);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The path of `name` in this binary's private directory, created on first use. Thread-safe.
inline std::string TestTempPath(absl::string_view name) {
  static TestTempDir dir;
  return absl::StrCat(dir.path(), "/", name);
}

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_TEST_TEMP_DIR_H_
