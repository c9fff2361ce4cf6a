// The daemon's security settings, loaded once at start from the flags and handed to every
// listener: the TLS credentials they serve with, and the AccessPolicy they admit requests by.
//
//   PYNQ_ASSIGN_OR_RETURN(ServerSecurity security, LoadServerSecurity({
//       .tls = {.cert_file = "server.crt", .key_file = "server.key"},
//       .access = {.admin_token_file = "admin-token"}}));
//   server_options.security = security;   // the gRPC server (GrpcServerCredentials(), AdmitCall())
//   // An HTTP listener: serve TLS with security.tls->files, and for every request call
//   // security.access->Admit(right, "POST /v2/...", {.authorization = header, .identities = ...}).
//
// Blocks on the file system while loading; the result is immutable and may be shared by threads.
#ifndef PYNQ_SERVICE_SECURITY_SERVER_SECURITY_H_
#define PYNQ_SERVICE_SECURITY_SERVER_SECURITY_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "service/security/access_policy.h"
#include "service/security/tls_material.h"

namespace pynq::service::security {

// The flags, as given: --tls_cert, --tls_key, --tls_client_ca, --admin_token_file,
// --inference_token_file, --admin_client_identities. All empty: plaintext, every request admitted.
struct SecurityOptions {
  TlsFiles tls;
  AccessPolicy::Options access;
};

struct ServerSecurity {
  // Unset: the listeners serve plaintext.
  std::optional<TlsMaterial> tls;
  // Never null once loaded.
  std::shared_ptr<const AccessPolicy> access;

  bool tls_enabled() const { return tls.has_value(); }
  bool requires_client_certificate() const {
    return tls.has_value() && tls->requires_client_certificate();
  }
};

// Loads the TLS material (LoadTlsMaterial()) and the access policy (AccessPolicy::Create()), and
// checks that they fit together. Besides their errors, kInvalidArgument for:
//   - a token file without TLS: a bearer token sent in clear text can be read by anyone on the
//     path, so tokens are accepted only over TLS;
//   - --admin_client_identities without --tls_client_ca: without client certificates there is no
//     verified name to compare.
absl::StatusOr<ServerSecurity> LoadServerSecurity(const SecurityOptions& options);

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_SERVER_SECURITY_H_
