// The one place where absl::Status becomes a gRPC status: everything below the gRPC handlers
// returns absl::Status, and only the handlers convert. absl's and gRPC's codes share their numbers
// (both are google.rpc.Code), so the conversion keeps code and message.
//
//   reactor->Finish(ToGrpcStatus(status));
#ifndef PYNQ_SERVICE_GRPC_STATUS_H_
#define PYNQ_SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "pynq_infer/v1/inference.pb.h"

namespace pynq::service {

grpc::Status ToGrpcStatus(const absl::Status& status);

// For ClassifyStream, whose failed requests are reported in the response, not as the call's end.
void ToErrorProto(const absl::Status& status, pynq_infer::v1::Error* error);

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_GRPC_STATUS_H_
