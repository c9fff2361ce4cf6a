#include "service/security/server_security.h"

#include "absl/status/status.h"
#include "base/status_macros.h"

namespace pynq::service::security {

absl::StatusOr<ServerSecurity> LoadServerSecurity(const SecurityOptions& options) {
  PYNQ_ASSIGN_OR_RETURN(TlsMaterial tls, LoadTlsMaterial(options.tls));
  const bool has_tls = !tls.cert_chain_pem.empty();
  if (!has_tls && (!options.access.admin_token_file.empty() ||
                   !options.access.inference_token_file.empty())) {
    return absl::InvalidArgumentError(
        "--admin_token_file and --inference_token_file need TLS (--tls_cert and --tls_key): a "
        "bearer token sent in clear text can be read by anyone on the network path");
  }
  if (!tls.requires_client_certificate() && !options.access.admin_identities.empty()) {
    return absl::InvalidArgumentError(
        "--admin_client_identities needs --tls_client_ca: client certificate names are known "
        "only when the daemon verifies client certificates (mTLS)");
  }
  ServerSecurity security;
  PYNQ_ASSIGN_OR_RETURN(security.access, AccessPolicy::Create(options.access));
  if (has_tls) security.tls = std::move(tls);
  return security;
}

}  // namespace pynq::service::security
