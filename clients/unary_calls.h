// The unary calls `pynq-infer bench` drives (load_generator.cc): how one request of each gRPC
// protocol is started and how its answer is judged, behind one function type, so the load
// generator's closed and open loops do not depend on the protocol.
//
//   CallDriver::IssueFn issue = OipCalls(*stub, spec, requests);
//   issue(17, [](absl::Status status) { ... });   // starts request 17 % requests.size()
//
// The returned functions reference their arguments, which must outlive every call they start;
// they may be called from any thread.
#ifndef PYNQ_CLIENTS_UNARY_CALLS_H_
#define PYNQ_CLIENTS_UNARY_CALLS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "clients/call_driver.h"
#include "clients/load_generator.h"
#include "inference/grpc_service.grpc.pb.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {

// Why a response to a request of `images` images is unusable, or OK.
absl::StatusCode CheckResponse(const pynq_infer::v1::ClassifyResponse& response, uint32_t images);

// Classify calls of the native API, `requests` in turn.
CallDriver::IssueFn NativeCalls(pynq_infer::v1::Inference::Stub& stub, const LoadSpec& spec,
                                const std::vector<pynq_infer::v1::ClassifyRequest>& requests);

// ModelInfer calls of the Open Inference Protocol, `requests` in turn; an answer counts as OK
// when it has one output whose first dimension is the request's image count.
CallDriver::IssueFn OipCalls(inference::GRPCInferenceService::Stub& stub, const LoadSpec& spec,
                             const std::vector<inference::ModelInferRequest>& requests);

// The images of `requests` as OIP ModelInfer requests: one UINT8 input "images" [N, bytes] in
// raw_input_contents.
std::vector<inference::ModelInferRequest> OipRequests(
    const std::vector<pynq_infer::v1::ClassifyRequest>& requests);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_UNARY_CALLS_H_
