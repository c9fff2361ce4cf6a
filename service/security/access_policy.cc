#include "service/security/access_policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "service/security/secret_file.h"

namespace pynq::service::security {

namespace {

constexpr absl::string_view kBearer = "bearer ";

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const AccessPolicy>> AccessPolicy::Create(const Options& options) {
  std::unique_ptr<AccessPolicy> policy(new AccessPolicy());
  std::string admin_token;
  if (!options.admin_token_file.empty()) {
    PYNQ_ASSIGN_OR_RETURN(admin_token,
                          ReadBearerTokenFile("--admin_token_file", options.admin_token_file));
    policy->admin_token_ = Sha256(admin_token);
  }
  if (!options.inference_token_file.empty()) {
    PYNQ_ASSIGN_OR_RETURN(
        std::string inference_token,
        ReadBearerTokenFile("--inference_token_file", options.inference_token_file));
    if (inference_token == admin_token) {
      return absl::InvalidArgumentError(
          "--admin_token_file and --inference_token_file hold the same token: every client "
          "allowed to classify would also be allowed to manage models; make two tokens");
    }
    policy->inference_token_ = Sha256(inference_token);
  }
  for (const std::string& identity : options.admin_identities) {
    if (identity.empty()) {
      return absl::InvalidArgumentError(
          "--admin_client_identities: an empty name (two commas in a row, or a trailing comma?)");
    }
  }
  policy->admin_identities_ = options.admin_identities;
  return std::unique_ptr<const AccessPolicy>(std::move(policy));
}

bool AccessPolicy::Restricts(Right right) const {
  switch (right) {
    case Right::kInference:
      return inference_token_.has_value();
    case Right::kManagement:
      return admin_token_.has_value() || !admin_identities_.empty();
  }
  return true;
}

AccessPolicy::TokenMatch AccessPolicy::MatchToken(std::string_view token) const {
  const Digest presented = Sha256(token);
  // Both comparisons always run, and each over the whole digest.
  const bool admin = admin_token_.has_value() &&
                     CRYPTO_memcmp(presented.data(), admin_token_->data(), presented.size()) == 0;
  const bool inference =
      inference_token_.has_value() &&
      CRYPTO_memcmp(presented.data(), inference_token_->data(), presented.size()) == 0;
  if (admin) return TokenMatch::kAdmin;
  if (inference) return TokenMatch::kInference;
  return TokenMatch::kNone;
}

bool AccessPolicy::IsAdminIdentity(absl::Span<const std::string> identities) const {
  for (const std::string& name : identities) {
    if (std::find(admin_identities_.begin(), admin_identities_.end(), name) !=
        admin_identities_.end()) {
      return true;
    }
  }
  return false;
}

absl::Status AccessPolicy::Admit(Right right, std::string_view operation,
                                 const Caller& caller) const {
  if (!Restricts(right)) return absl::OkStatus();
  TokenMatch token = TokenMatch::kNone;
  // Debian's Abseil has its own string_view type.
  const absl::string_view authorization(caller.authorization.data(), caller.authorization.size());
  if (!authorization.empty()) {
    // The scheme is case-insensitive (RFC 7235 section 2.1).
    if (authorization.size() <= kBearer.size() ||
        !absl::StartsWithIgnoreCase(authorization, kBearer)) {
      return absl::UnauthenticatedError(absl::StrFormat(
          "%s: the authorization value is not \"Bearer <token>\"", operation));
    }
    const absl::string_view presented =
        absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
    token = MatchToken(std::string_view(presented.data(), presented.size()));
    if (token == TokenMatch::kNone) {
      return absl::UnauthenticatedError(
          absl::StrFormat("%s: the bearer token is not one this daemon accepts", operation));
    }
  }
  const bool admin = token == TokenMatch::kAdmin || IsAdminIdentity(caller.identities);
  if (right == Right::kManagement) {
    if (admin) return absl::OkStatus();
    constexpr char kAdminCredentials[] =
        "a bearer token from --admin_token_file or a client certificate named in "
        "--admin_client_identities";
    if (token == TokenMatch::kInference) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s needs an admin credential (%s); the request's bearer token allows inference only",
          operation, kAdminCredentials));
    }
    if (!caller.identities.empty()) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "%s needs an admin credential (%s); the client certificate (%s) is not an admin's",
          operation, kAdminCredentials, absl::StrJoin(caller.identities, ", ")));
    }
    return absl::UnauthenticatedError(absl::StrFormat(
        "%s needs an admin credential (%s); the request carried none", operation,
        kAdminCredentials));
  }
  if (token != TokenMatch::kNone || admin) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrFormat(
      "%s needs a bearer token (from --inference_token_file or --admin_token_file) in the "
      "\"authorization\" metadata or HTTP header; the request carried none",
      operation));
}

}  // namespace pynq::service::security
