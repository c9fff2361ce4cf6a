#include "tests/support/source_dir.h"

#include <cstdlib>

namespace pynq::testing {

std::string SourceDir() {
  const char* dir = std::getenv("PYNQ_SOURCE_DIR");
  // PYNQ_BUILD_SOURCE_DIR is defined for this file only, by tests/support/CMakeLists.txt.
  return dir != nullptr && *dir != '\0' ? dir : PYNQ_BUILD_SOURCE_DIR;
}

}  // namespace pynq::testing
