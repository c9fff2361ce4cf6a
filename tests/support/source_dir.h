// Where a test finds the checkout it was built from: the shipped models (models/zoo), their data
// and golden scores (models/data, models/golden), the overlay manifests (overlays/).
//
//   auto model = accel::Model::LoadFile(SourceDir() + "/models/zoo/mnist-bnn-tfc.pim");
//
// CTest sets $PYNQ_SOURCE_DIR for every test (cmake/PynqHelpers.cmake); a test binary started by
// hand falls back to the source directory it was configured from. tests/package_e2e_test.sh sets
// the variable to run a build's tests against another checkout.
#ifndef PYNQ_TESTS_SUPPORT_SOURCE_DIR_H_
#define PYNQ_TESTS_SUPPORT_SOURCE_DIR_H_

#include <string>

namespace pynq::testing {

// $PYNQ_SOURCE_DIR when set and not empty, else the source directory of this build. Thread-safe
// (reads the environment, which tests do not change while threads run).
std::string SourceDir();

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_SOURCE_DIR_H_
