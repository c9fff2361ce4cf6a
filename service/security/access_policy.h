// Who may do what: the admission check every listener of the daemon runs before it serves a
// request (the gRPC services through grpc_security.h; an HTTP listener calls Admit() directly).
// A request presents at most two credentials: a bearer token (the "authorization" header or gRPC
// metadata, "Bearer <token>") and, on an mTLS listener, the names of the client certificate the
// TLS layer verified. Two rights need them:
//
//   kManagement  (LoadModel, UnloadModel, their REST/OIP counterparts): an admin credential, i.e.
//                the token of --admin_token_file or a client certificate one of whose names is
//                listed in --admin_client_identities. Unrestricted when neither is configured
//                (then --allow_model_management alone decides, as before this policy existed).
//   kInference   (Classify, ClassifyStream, OIP ModelInfer, ...): restricted only when
//                --inference_token_file is given; then the inference token or an admin
//                credential.
//
// Health checks, server reflection, model listing and metrics need no right: a load balancer must
// be able to health-check a board without a secret (the same split as Triton's restricted
// protocols, which leave health open by default).
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<const AccessPolicy> policy,
//                         AccessPolicy::Create({.admin_token_file = "/run/credentials/x/admin"}));
//   absl::Status admitted = policy->Admit(Right::kManagement, "LoadModel",
//                                         {.authorization = header_value, .identities = names});
//   // kUnauthenticated: no credential, or one the daemon does not know;
//   // kPermissionDenied: a known credential without this right.
//
// Tokens are compared in constant time (their SHA-256 digests, with CRYPTO_memcmp), so the
// time a refusal takes does not tell how much of a guess was right. Immutable after Create();
// Admit() is thread-safe, does not block and allocates only to build a refusal's message.
#ifndef PYNQ_SERVICE_SECURITY_ACCESS_POLICY_H_
#define PYNQ_SERVICE_SECURITY_ACCESS_POLICY_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace pynq::service::security {

enum class Right { kInference, kManagement };

// What one request presents, as its listener saw it. Views: valid for the Admit() call only.
struct Caller {
  // The request's "authorization" value, e.g. "Bearer 3f9a..."; empty when it carried none.
  std::string_view authorization;
  // The names (CertificateIdentities()) of the client certificate the TLS layer verified; empty
  // when the client presented none or the listener does not verify client certificates.
  absl::Span<const std::string> identities;
};

class AccessPolicy {
 public:
  struct Options {
    // Bearer token of the admin (see ReadBearerTokenFile(): mode 0600/0400, one token68 line).
    std::string admin_token_file;
    // Bearer token for inference; when set, inference needs it (or an admin credential).
    std::string inference_token_file;
    // Client certificate names (subject CN or a SAN: DNS name, URI, e-mail, IP) that are admins.
    // Only meaningful on an mTLS listener, which LoadServerSecurity() checks.
    std::vector<std::string> admin_identities;
  };

  // Reads the token files. Errors: those of ReadBearerTokenFile() (so a token file that its group
  // or others may read stops the daemon), and kInvalidArgument when both files hold the same
  // token (every inference client would be an admin) or an identity is empty.
  static absl::StatusOr<std::unique_ptr<const AccessPolicy>> Create(const Options& options);

  // OK when `caller` holds `right`; otherwise kUnauthenticated (no credential where one is
  // needed, a malformed authorization value, or a token this daemon does not know) or
  // kPermissionDenied (a valid inference token or client certificate asking for management).
  // `operation` names what was asked for in the message ("LoadModel", "POST /v2/...").
  absl::Status Admit(Right right, std::string_view operation, const Caller& caller) const;

  // Whether any request needs a credential for `right`; when false Admit() is always OK, so a
  // listener may skip gathering the caller's credentials.
  bool Restricts(Right right) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  enum class TokenMatch { kNone, kInference, kAdmin };

  AccessPolicy() = default;
  TokenMatch MatchToken(std::string_view token) const;
  bool IsAdminIdentity(absl::Span<const std::string> identities) const;

  std::optional<Digest> admin_token_;
  std::optional<Digest> inference_token_;
  std::vector<std::string> admin_identities_;
};

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_ACCESS_POLICY_H_
