// A throw-away PKI for the TLS tests: tests/make_test_pki.sh (Debian's openssl) run into a
// private temporary directory, which holds the CA, the server's certificate and key, client
// certificates and bearer tokens the script describes.
//
//   static void SetUpTestSuite() {
//     absl::StatusOr<TestTempDir> pki = MakeTestPki();
//     ASSERT_TRUE(pki.ok()) << pki.status();
//     pki_ = new TestTempDir(*std::move(pki));   // pki_->path() + "/server.crt", ...
//   }
//
// Blocks while openssl runs (about a second); thread-safe.
#ifndef PYNQ_TESTS_SUPPORT_TEST_PKI_H_
#define PYNQ_TESTS_SUPPORT_TEST_PKI_H_

#include "absl/status/statusor.h"
#include "tests/support/temp_dir.h"

namespace pynq::testing {

// The directory with the PKI in it, removed with the returned object. kInternal, naming the
// command, if the script fails.
absl::StatusOr<TestTempDir> MakeTestPki();

}  // namespace pynq::testing

#endif  // PYNQ_TESTS_SUPPORT_TEST_PKI_H_
