// Private temporary directories for tests: each TestTempDir is a fresh mkdtemp(3) directory,
// removed with everything in it when the object goes. Private, so that test binaries running at
// the same time (several build trees, and several people, test at once on one machine and share
// /tmp) never read or remove each other's files.
//
//   class RegistryTest : public ::testing::Test {
//     TestTempDir temp_;                                  // /tmp/pynq-test-XXXXXX
//   };
//   std::ofstream(temp_.path() + "/model.pim") << ...;
//
//   std::string scores = TestTempPath("scores.idx");      // one directory for the whole binary
//
//   TestTempDir shm{TestTempDir::Options{.parent = "/dev/shm", .prefix = "board-"}};
//
//   PYNQ_ASSIGN_OR_RETURN(TestTempDir work, TestTempDir::Create({.prefix = "pynq-inferd-test-"}));
//
// Create() reports failure as a status, for support code that returns one; the constructors are
// for fixtures and test bodies, where a test cannot go on without its directory: they abort the
// binary, printing why.
#ifndef PYNQ_TESTS_SUPPORT_TEMP_DIR_H_
#define PYNQ_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pynq::testing {

class TestTempDir {
 public:
  struct Options {
    // The directory to make it in; empty: $TEST_TMPDIR when set, else /tmp.
    std::string parent;
    // The start of its name; mkdtemp(3) appends six random characters.
    std::string prefix = "pynq-test-";
  };

  // Makes the directory (mode 0700). kInternal, naming the path and errno's text, on failure.
  // Blocks on the file system; thread-safe.
  static absl::StatusOr<TestTempDir> Create(const Options& options);

  // Make the directory like Create({}) and Create(options), aborting the binary with Create()'s
  // message when it fails. Name the type of `options` (TestTempDir::Options{...}): a bare braced
  // list would also match the move constructor.
  TestTempDir();
  explicit TestTempDir(const Options& options);

  // Removes the directory and everything in it, best effort: a leftover must not fail a test.
  ~TestTempDir();

  // Moves ownership of the directory; the moved-from object owns none and removes nothing.
  TestTempDir(TestTempDir&& other) noexcept;
  TestTempDir& operator=(TestTempDir&& other) noexcept;
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  // The absolute path of the directory, without a trailing slash.
  const std::string& path() const { return path_; }

 private:
  explicit TestTempDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;
};

// The path of `name` in a directory private to this test binary, made on first use (aborting as
// TestTempDir() does if it cannot be) and removed when the binary exits. For tests that write a
// few files and do not care that they share a directory. Thread-safe.
std::string TestTempPath(absl::string_view name);

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_TEMP_DIR_H_
