#include "clients/unary_calls.h"

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "clients/rpc_status.h"

namespace pynq::clients {

using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using pynq_infer::v1::Inference;

absl::StatusCode CheckResponse(const ClassifyResponse& response, uint32_t images) {
  if (response.has_error()) return FromStreamError(response.error()).code();
  if (static_cast<uint32_t>(response.results_size()) != images) return absl::StatusCode::kInternal;
  return absl::StatusCode::kOk;
}

// See the header for each.
CallDriver::IssueFn NativeCalls(Inference::Stub& stub, const LoadSpec& spec,
                                const std::vector<ClassifyRequest>& requests) {
  return [&stub, &spec, &requests](uint64_t index, CallDriver::DoneFn done) {
    struct Call {
      grpc::ClientContext context;
      ClassifyResponse response;
    };
    auto* call = new Call();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + spec.request_timeout));
    stub.async()->Classify(&call->context, &requests[index % requests.size()], &call->response,
                           [call, &spec, done = std::move(done)](grpc::Status status) {
                             absl::Status outcome = FromGrpcStatus(status, "Classify");
                             if (outcome.ok()) {
                               outcome = absl::Status(
                                   CheckResponse(call->response, spec.images_per_request),
                                   "Classify: the answer does not fit the request");
                             }
                             delete call;
                             done(std::move(outcome));
                           });
  };
}

CallDriver::IssueFn OipCalls(GRPCInferenceService::Stub& stub, const LoadSpec& spec,
                             const std::vector<ModelInferRequest>& requests) {
  return [&stub, &spec, &requests](uint64_t index, CallDriver::DoneFn done) {
    struct Call {
      grpc::ClientContext context;
      ModelInferResponse response;
    };
    auto* call = new Call();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + spec.request_timeout));
    stub.async()->ModelInfer(
        &call->context, &requests[index % requests.size()], &call->response,
        [call, &spec, done = std::move(done)](grpc::Status status) {
          absl::Status outcome = FromGrpcStatus(status, "ModelInfer");
          if (outcome.ok() && (call->response.outputs_size() != 1 ||
                               call->response.outputs(0).shape_size() == 0 ||
                               call->response.outputs(0).shape(0) != spec.images_per_request)) {
            outcome = absl::InternalError("ModelInfer: the answer does not fit the request");
          }
          delete call;
          done(std::move(outcome));
        });
  };
}

std::vector<ModelInferRequest> OipRequests(const std::vector<ClassifyRequest>& requests) {
  std::vector<ModelInferRequest> out(requests.size());
  for (size_t j = 0; j < requests.size(); ++j) {
    out[j].set_model_name(requests[j].model());
    auto* input = out[j].add_inputs();
    input->set_name("images");
    input->set_datatype("UINT8");
    input->add_shape(requests[j].images_size());
    input->add_shape(static_cast<int64_t>(requests[j].images(0).size()));
    std::string* raw = out[j].add_raw_input_contents();
    for (const std::string& image : requests[j].images()) raw->append(image);
  }
  return out;
}

}  // namespace pynq::clients
