// The daemon's security on its gRPC port: the server credentials the port is opened with, and the
// admission check a handler runs before serving a call (AccessPolicy over the call's metadata and
// verified client certificate).
//
//   builder.AddListeningPort(address, GrpcServerCredentials(security), &port);
//   ...
//   grpc::ServerUnaryReactor* Service::LoadModel(grpc::CallbackServerContext* context, ...) {
//     if (absl::Status s = AdmitCall(access, Right::kManagement, "LoadModel", *context); !s.ok()) {
//       reactor->Finish(ToGrpcStatus(s));  // UNAUTHENTICATED or PERMISSION_DENIED
//       ...
//   // A refused stream: return new RefusedStream<Request, Response>(ToGrpcStatus(s));
//
// Why checks in the handlers rather than gRPC's AuthMetadataProcessor or a server interceptor: an
// AuthMetadataProcessor runs only on TLS ports and does not learn which method is called, so it
// cannot tell management from inference; gRPC's server interceptors (experimental) can read the
// metadata but cannot refuse a call. A check at the top of each handler sees the method, the
// metadata and the auth context, works the same on every port, and leaves grpc.health.v1 and
// reflection (not our handlers) open, as a load balancer needs.
#ifndef PYNQ_SERVICE_SECURITY_GRPC_SECURITY_H_
#define PYNQ_SERVICE_SECURITY_GRPC_SECURITY_H_

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "service/security/access_policy.h"
#include "service/security/server_security.h"

namespace pynq::service::security {

// Plaintext without TLS material; otherwise TLS with the certificate chain and key, and with a
// client CA, a client certificate that verifies against it is required in every handshake (a
// client without one never gets as far as a call).
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const ServerSecurity& security);

// policy->Admit() for the call behind `context`: its "authorization" metadata and, when the TLS
// layer authenticated the peer, its certificate's names (x509_common_name and
// x509_subject_alternative_name of the auth context). OK when `policy` is null or does not
// restrict `right` (nothing is read then). Refused management calls are logged with the peer's
// address. Thread-safe; does not block.
absl::Status AdmitCall(const AccessPolicy* policy, Right right, std::string_view rpc,
                       const grpc::ServerContextBase& context);

// A bidirectional-stream reactor that ends its stream at once with `status` without reading,
// for a stream refused before it starts. Deletes itself when gRPC is done with it.
template <class Request, class Response>
class RefusedStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace pynq::service::security

#endif  // PYNQ_SERVICE_SECURITY_GRPC_SECURITY_H_
