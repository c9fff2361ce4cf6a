#include "service/security/access_policy.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service::security {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kAdminToken[] = "admin-0123456789abcdef0123456789";
constexpr char kInferenceToken[] = "infer-0123456789abcdef0123456789";

class AccessPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/pynq-policy-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    admin_file_ = Write("admin", absl::StrCat(kAdminToken, "\n"));
    inference_file_ = Write("inference", kInferenceToken);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), 0600);
    return path;
  }

  std::unique_ptr<const AccessPolicy> Policy(const AccessPolicy::Options& options) {
    absl::StatusOr<std::unique_ptr<const AccessPolicy>> policy = AccessPolicy::Create(options);
    EXPECT_TRUE(policy.ok()) << policy.status();
    return policy.ok() ? *std::move(policy) : nullptr;
  }

  std::string dir_;
  std::string admin_file_;
  std::string inference_file_;
};

const std::string kAdminBearer = std::string("Bearer ") + kAdminToken;
const std::string kInferenceBearer = std::string("Bearer ") + kInferenceToken;

TEST_F(AccessPolicyTest, WithoutOptionsEverythingIsAdmitted) {
  auto policy = Policy({});
  EXPECT_FALSE(policy->Restricts(Right::kInference));
  EXPECT_FALSE(policy->Restricts(Right::kManagement));
  EXPECT_TRUE(policy->Admit(Right::kManagement, "LoadModel", {}).ok());
  EXPECT_TRUE(policy->Admit(Right::kInference, "Classify", {}).ok());
  // Nothing is checked, not even a malformed value.
  EXPECT_TRUE(policy->Admit(Right::kInference, "Classify", {.authorization = "Basic x"}).ok());
}

TEST_F(AccessPolicyTest, ManagementNeedsTheAdminToken) {
  auto policy = Policy({.admin_token_file = admin_file_});
  EXPECT_TRUE(policy->Restricts(Right::kManagement));
  EXPECT_FALSE(policy->Restricts(Right::kInference));
  EXPECT_TRUE(policy->Admit(Right::kManagement, "LoadModel", {.authorization = kAdminBearer}).ok());
  // The scheme is case-insensitive.
  EXPECT_TRUE(policy
                  ->Admit(Right::kManagement, "LoadModel",
                          {.authorization = std::string("bearer ") + kAdminToken})
                  .ok());
  absl::Status none = policy->Admit(Right::kManagement, "LoadModel", {});
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(none.message(), AllOf(HasSubstr("LoadModel needs an admin credential"),
                                    HasSubstr("carried none")));
  absl::Status wrong = policy->Admit(Right::kManagement, "UnloadModel",
                                     {.authorization = "Bearer not-the-admin-token-at-all"});
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(wrong.message(), HasSubstr("UnloadModel: the bearer token is not one"));
  // A prefix of the right token is no token.
  EXPECT_EQ(policy
                ->Admit(Right::kManagement, "LoadModel",
                        {.authorization = kAdminBearer.substr(0, kAdminBearer.size() - 1)})
                .code(),
            absl::StatusCode::kUnauthenticated);
  for (const std::string malformed : {"Basic YWRtaW46eA==", "Bearer", "Bearer ", kAdminToken}) {
    absl::Status s = policy->Admit(Right::kManagement, "LoadModel", {.authorization = malformed});
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << malformed;
    EXPECT_THAT(s.message(), HasSubstr("not \"Bearer <token>\"")) << malformed;
  }
  // Inference stays open.
  EXPECT_TRUE(policy->Admit(Right::kInference, "Classify", {}).ok());
}

TEST_F(AccessPolicyTest, AnInferenceTokenIsAValidIdentityWithoutTheManagementRight) {
  auto policy = Policy({.admin_token_file = admin_file_, .inference_token_file = inference_file_});
  absl::Status s =
      policy->Admit(Right::kManagement, "LoadModel", {.authorization = kInferenceBearer});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("allows inference only"));
}

TEST_F(AccessPolicyTest, InferenceTokenRestrictsInferenceToItAndTheAdminToken) {
  auto policy = Policy({.admin_token_file = admin_file_, .inference_token_file = inference_file_});
  EXPECT_TRUE(policy->Restricts(Right::kInference));
  EXPECT_TRUE(policy->Admit(Right::kInference, "Classify", {.authorization = kInferenceBearer}).ok());
  EXPECT_TRUE(policy->Admit(Right::kInference, "Classify", {.authorization = kAdminBearer}).ok());
  absl::Status none = policy->Admit(Right::kInference, "ClassifyStream", {});
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(none.message(), HasSubstr("ClassifyStream needs a bearer token"));
  EXPECT_EQ(policy->Admit(Right::kInference, "Classify", {.authorization = "Bearer 0123456789abcdefXYZ"})
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AccessPolicyTest, InferenceTokenAloneLeavesManagementOpen) {
  auto policy = Policy({.inference_token_file = inference_file_});
  EXPECT_FALSE(policy->Restricts(Right::kManagement));
  EXPECT_TRUE(policy->Admit(Right::kManagement, "LoadModel", {}).ok());
  EXPECT_EQ(policy->Admit(Right::kInference, "Classify", {}).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AccessPolicyTest, ClientCertificateNamesGrantManagementWhenListed) {
  auto policy = Policy({.admin_identities = {"ops-admin", "ops@pynq.test"}});
  const std::vector<std::string> admin_by_cn = {"ops-admin"};
  const std::vector<std::string> admin_by_san = {"someone", "ops@pynq.test"};
  const std::vector<std::string> reader = {"reader"};
  EXPECT_TRUE(policy->Admit(Right::kManagement, "LoadModel", {.identities = admin_by_cn}).ok());
  EXPECT_TRUE(policy->Admit(Right::kManagement, "LoadModel", {.identities = admin_by_san}).ok());
  absl::Status s = policy->Admit(Right::kManagement, "LoadModel", {.identities = reader});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("client certificate (reader) is not an admin's"));
  EXPECT_EQ(policy->Admit(Right::kManagement, "LoadModel", {}).code(),
            absl::StatusCode::kUnauthenticated);
  // Names are compared exactly.
  const std::vector<std::string> near_miss = {"OPS-ADMIN", "ops-admin "};
  EXPECT_EQ(policy->Admit(Right::kManagement, "LoadModel", {.identities = near_miss}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AccessPolicyTest, AnUnknownTokenIsRefusedEvenBesideAnAdminCertificate) {
  auto policy = Policy({.admin_identities = {"ops-admin"}});
  const std::vector<std::string> admin = {"ops-admin"};
  // No token is configured, so any token presented is unknown.
  EXPECT_EQ(policy
                ->Admit(Right::kManagement, "LoadModel",
                        {.authorization = kAdminBearer, .identities = admin})
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AccessPolicyTest, CreateRefusesTheSameTokenTwiceAndEmptyNames) {
  const std::string copy = Write("copy", kAdminToken);
  absl::StatusOr<std::unique_ptr<const AccessPolicy>> same =
      AccessPolicy::Create({.admin_token_file = admin_file_, .inference_token_file = copy});
  EXPECT_EQ(same.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(same.status().message(), HasSubstr("hold the same token"));
  EXPECT_EQ(AccessPolicy::Create({.admin_identities = {"a", ""}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccessPolicyTest, CreateRefusesATokenFileOthersMayRead) {
  chmod(admin_file_.c_str(), 0644);
  absl::StatusOr<std::unique_ptr<const AccessPolicy>> policy =
      AccessPolicy::Create({.admin_token_file = admin_file_});
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(policy.status().message(),
              AllOf(HasSubstr("--admin_token_file"), HasSubstr("mode 0644")));
  chmod(inference_file_.c_str(), 0640);
  EXPECT_EQ(AccessPolicy::Create({.inference_token_file = inference_file_}).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace pynq::service::security
