#include "service/security/grpc_security.h"

#include <string>
#include <vector>

#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "spdlog/spdlog.h"

namespace pynq::service::security {

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const ServerSecurity& security) {
  if (!security.tls_enabled()) return grpc::InsecureServerCredentials();
  const TlsMaterial& tls = *security.tls;
  grpc::SslServerCredentialsOptions options(
      tls.requires_client_certificate()
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.client_ca_pem;
  options.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

absl::Status AdmitCall(const AccessPolicy* policy, Right right, std::string_view rpc,
                       const grpc::ServerContextBase& context) {
  if (policy == nullptr || !policy->Restricts(right)) return absl::OkStatus();
  std::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = std::string_view(it->second.data(), it->second.size());
  }
  std::vector<std::string> identities;
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
      for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
        identities.emplace_back(name.data(), name.size());
      }
    }
  }
  absl::Status admitted =
      policy->Admit(right, rpc, {.authorization = authorization, .identities = identities});
  if (!admitted.ok() && right == Right::kManagement) {
    spdlog::warn("refused {} from {}: {}", rpc, context.peer(), std::string(admitted.message()));
  }
  return admitted;
}

}  // namespace pynq::service::security
