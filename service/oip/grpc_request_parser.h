// Reads an OIP gRPC ModelInferRequest (proto/inference/grpc_service.proto) into an InferRequest,
// strictly: every input must be UINT8 or BYTES with a shape of non-negative dimensions, its
// elements in exactly one of raw_input_contents (one entry per input: N bytes for N UINT8
// elements; BYTES elements each as a 4-byte little-endian length and the bytes) or typed contents
// (UINT8: contents.uint_contents, N values, each 0..255; BYTES: contents.bytes_contents, N
// encoded pictures; nothing in the other contents fields); the "timeout" request parameter and
// the "classification" output parameter must be non-negative integers, "return_model_input" a
// bool; output names must not repeat. Any violation is kInvalidArgument naming the input,
// output or parameter and what was expected.
//
//   absl::StatusOr<oip::InferRequest> request = oip::ParseModelInferRequest(*message);
//
// A pure function. The result's raw input data are views of `message`, which must outlive it;
// typed contents are decoded into owned bytes, after their element count has been checked
// against the shape. Unit-tested in grpc_request_parser_test.cc; a fuzz target's entry point.
#ifndef PYNQ_SERVICE_OIP_GRPC_REQUEST_PARSER_H_
#define PYNQ_SERVICE_OIP_GRPC_REQUEST_PARSER_H_

#include "absl/status/statusor.h"
#include "inference/grpc_service.pb.h"
#include "service/oip/infer_request.h"

namespace pynq::service::oip {

absl::StatusOr<InferRequest> ParseModelInferRequest(const ::inference::ModelInferRequest& message);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_GRPC_REQUEST_PARSER_H_
