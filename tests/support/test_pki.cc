#include "tests/support/test_pki.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "tests/support/source_dir.h"

namespace pynq::testing {

absl::StatusOr<TestTempDir> MakeTestPki() {
  PYNQ_ASSIGN_OR_RETURN(TestTempDir dir, TestTempDir::Create({.prefix = "pynq-pki-"}));
  const std::string command =
      absl::StrCat("bash ", SourceDir(), "/tests/make_test_pki.sh ", dir.path());
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("making the test PKI failed: ", command));
  }
  return dir;
}

}  // namespace pynq::testing
