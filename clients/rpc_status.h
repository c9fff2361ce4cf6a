// The client's one conversion from the daemon's error model (grpc::Status, and the per-request
// `Error` of ClassifyStream responses) to absl::Status. The codes are the same numbers in both
// (google.rpc.Code), so the conversion keeps the code and adds what the client was doing.
//
//   grpc::Status s = stub->GetMetrics(&context, request, &response);
//   if (!s.ok()) return FromGrpcStatus(s, "GetMetrics");
//   // -> UNAVAILABLE: GetMetrics: failed to connect to all addresses
#ifndef PYNQ_CLIENTS_RPC_STATUS_H_
#define PYNQ_CLIENTS_RPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pynq_infer/v1/inference.pb.h"

namespace pynq::clients {

// `status` with `what` (for example "Classify") before its message. OK maps to OK.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what);

// The `error` of a ClassifyStream response. A code outside google.rpc.Code, or 0 (which the API
// forbids in an error), becomes UNKNOWN with the number kept in the message; never OK.
absl::Status FromStreamError(const pynq_infer::v1::Error& error);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_RPC_STATUS_H_
