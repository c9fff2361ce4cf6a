#include "service/security/tls_material.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/security/server_security.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace pynq::service::security {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One PKI for every test, made by tests/make_test_pki.sh with Debian's openssl.
class TlsMaterialTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<testing::TestTempDir> pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    dir_ = new testing::TestTempDir(*std::move(pki));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Path(const std::string& name) { return dir_->path() + "/" + name; }
  static std::string Read(const std::string& name) {
    std::ifstream in(Path(name));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static testing::TestTempDir* dir_;
};
testing::TestTempDir* TlsMaterialTest::dir_ = nullptr;

TEST_F(TlsMaterialTest, LoadsAServerCertificateAndItsKey) {
  absl::StatusOr<TlsMaterial> tls =
      LoadTlsMaterial({.cert_file = Path("server.crt"), .key_file = Path("server.key")});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->cert_chain_pem, Read("server.crt"));
  EXPECT_EQ(tls->private_key_pem, Read("server.key"));
  EXPECT_FALSE(tls->requires_client_certificate());
  EXPECT_EQ(tls->files.cert_file, Path("server.crt"));
}

TEST_F(TlsMaterialTest, AClientCaRequiresClientCertificates) {
  absl::StatusOr<TlsMaterial> tls = LoadTlsMaterial({.cert_file = Path("server.crt"),
                                                     .key_file = Path("server.key"),
                                                     .client_ca_file = Path("ca.crt")});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->requires_client_certificate());
  EXPECT_EQ(tls->client_ca_pem, Read("ca.crt"));
}

TEST_F(TlsMaterialTest, NothingGivenIsPlaintext) {
  absl::StatusOr<TlsMaterial> tls = LoadTlsMaterial({});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->cert_chain_pem.empty());
}

TEST_F(TlsMaterialTest, RefusesAKeyOfAnotherCertificate) {
  absl::StatusOr<TlsMaterial> tls =
      LoadTlsMaterial({.cert_file = Path("server.crt"), .key_file = Path("admin.key")});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("does not belong to the certificate"));
}

TEST_F(TlsMaterialTest, RefusesAKeyOthersMayRead) {
  const std::string key = Path("readable.key");
  std::filesystem::copy_file(Path("server.key"), key,
                             std::filesystem::copy_options::overwrite_existing);
  chmod(key.c_str(), 0644);
  absl::StatusOr<TlsMaterial> tls =
      LoadTlsMaterial({.cert_file = Path("server.crt"), .key_file = key});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(tls.status().message(), HasSubstr("--tls_key"));
}

TEST_F(TlsMaterialTest, RefusesFilesThatAreNotPem) {
  absl::StatusOr<TlsMaterial> not_a_cert =
      LoadTlsMaterial({.cert_file = Path("server.key"), .key_file = Path("server.key")});
  EXPECT_EQ(not_a_cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_a_cert.status().message(), HasSubstr("--tls_cert"));
  EXPECT_THAT(not_a_cert.status().message(), HasSubstr("no PEM certificate"));
  absl::StatusOr<TlsMaterial> not_a_key =
      LoadTlsMaterial({.cert_file = Path("server.crt"), .key_file = Path("admin.token")});
  EXPECT_EQ(not_a_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_a_key.status().message(), HasSubstr("no unencrypted PEM private key"));
  absl::StatusOr<TlsMaterial> bad_ca = LoadTlsMaterial({.cert_file = Path("server.crt"),
                                                        .key_file = Path("server.key"),
                                                        .client_ca_file = Path("admin.token")});
  EXPECT_EQ(bad_ca.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_ca.status().message(), HasSubstr("--tls_client_ca"));
  EXPECT_EQ(LoadTlsMaterial({.cert_file = Path("none.crt"), .key_file = Path("server.key")})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TlsMaterialTest, RefusesHalfAConfiguration) {
  EXPECT_THAT(LoadTlsMaterial({.cert_file = Path("server.crt")}).status().message(),
              HasSubstr("go together"));
  EXPECT_THAT(LoadTlsMaterial({.key_file = Path("server.key")}).status().message(),
              HasSubstr("go together"));
  EXPECT_THAT(LoadTlsMaterial({.client_ca_file = Path("ca.crt")}).status().message(),
              HasSubstr("--tls_client_ca needs --tls_cert"));
}

TEST_F(TlsMaterialTest, IdentitiesAreTheCommonNameThenTheSubjectAlternativeNames) {
  EXPECT_THAT(*CertificateIdentitiesFromPem(Read("server.crt")),
              ElementsAre("localhost", "localhost", "127.0.0.1"));
  EXPECT_THAT(*CertificateIdentitiesFromPem(Read("admin.crt")),
              ElementsAre("ops-admin", "ops@pynq.test"));
  EXPECT_THAT(*CertificateIdentitiesFromPem(Read("reader.crt")), ElementsAre("reader"));
  EXPECT_EQ(CertificateIdentitiesFromPem("no certificate").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsMaterialTest, ServerSecurityNeedsTlsForTokensAndMtlsForIdentities) {
  absl::StatusOr<ServerSecurity> plain = LoadServerSecurity({});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->tls_enabled());
  ASSERT_NE(plain->access, nullptr);
  EXPECT_FALSE(plain->access->Restricts(Right::kManagement));

  absl::StatusOr<ServerSecurity> token_in_clear =
      LoadServerSecurity({.access = {.admin_token_file = Path("admin.token")}});
  EXPECT_EQ(token_in_clear.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(token_in_clear.status().message(), HasSubstr("need TLS"));

  absl::StatusOr<ServerSecurity> names_without_mtls = LoadServerSecurity(
      {.tls = {.cert_file = Path("server.crt"), .key_file = Path("server.key")},
       .access = {.admin_identities = {"ops-admin"}}});
  EXPECT_EQ(names_without_mtls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(names_without_mtls.status().message(), HasSubstr("needs --tls_client_ca"));

  absl::StatusOr<ServerSecurity> full = LoadServerSecurity(
      {.tls = {.cert_file = Path("server.crt"),
               .key_file = Path("server.key"),
               .client_ca_file = Path("ca.crt")},
       .access = {.admin_token_file = Path("admin.token"),
                  .inference_token_file = Path("inference.token"),
                  .admin_identities = {"ops-admin"}}});
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(full->requires_client_certificate());
  EXPECT_TRUE(full->access->Restricts(Right::kInference));
}

}  // namespace
}  // namespace pynq::service::security
