// How an OIP request meets a model: the input tensor becomes the model's images, and a finished
// request's scores become the output tensors, whichever protocol (gRPC or REST) carries them.
//
//   PYNQ_ASSIGN_OR_RETURN(oip::BoundRequest bound,
//                         oip::BindToModel(request, *served->model, max_images));
//   ... queue bound.images; when done:
//   oip::InferResult result = oip::BuildResult(request, bound, done, *served->model);
//
// A model (see proto/inference/grpc_service.proto) has one input "images", UINT8, shape
// [N, C, H, W], also accepted as [N, H, W] for a one-channel model and as [N, C*H*W]; or BYTES,
// shape [N] or [N, 1], each element an encoded picture (PNG, JPEG or PGM of any size) that is
// prepared as the model file declares (preprocess::PreparePicture(), the same path as the native
// API's encoded_images). It has one output "scores", INT32 [N, classes], or with the
// "classification" parameter BYTES [N, k] of "score:index:label", best first; with the request
// parameter "return_model_input" also "model_input", UINT8 [N, C, H, W]: what the model ran on.
//
// Pure functions of their arguments; safe from any thread. Preparing pictures runs on the calling
// thread (linear in their pixels; bench/preprocess_bench).
#ifndef PYNQ_SERVICE_OIP_TENSOR_MAPPING_H_
#define PYNQ_SERVICE_OIP_TENSOR_MAPPING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "accel/model/model.h"
#include "preprocess/gray_image.h"
#include "service/inference_request.h"
#include "service/oip/infer_request.h"

namespace pynq::service::oip {

// One output the response will carry.
struct OutputSpec {
  std::string name;
  // 0: the scores tensor; k >= 1: the classification extension with k classes.
  uint32_t classification = 0;
  bool binary_data = false;
};

struct BoundRequest {
  // One view of model.input_bytes() bytes per image, into the request's input data (UINT8) or
  // into `prepared` (pictures).
  std::vector<std::string_view> images;
  // The model inputs prepared from a BYTES input's pictures, back to back; empty for UINT8. Its
  // heap buffer moves with the BoundRequest, so `images` stay valid.
  std::vector<uint8_t> prepared;
  std::vector<OutputSpec> outputs;
};

// Checks `request` against `model` and splits its input into images. kInvalidArgument, naming
// the problem and what the model takes, unless: there is exactly one input, named "images",
// either UINT8, of shape [N, C, H, W], [N, H, W] (one-channel models) or [N, C*H*W], its data
// N*C*H*W bytes, or BYTES of shape [N] or [N, 1] holding N pictures that each decode within
// `picture_limits` and prepare (a bad one is kInvalidArgument naming its index and the
// problem; a model that takes raw tensors only refuses pictures); N in 1..max_images; every
// requested output is "scores", with at most the model's class count as "classification". No
// requested output means "scores" as a tensor.
absl::StatusOr<BoundRequest> BindToModel(const InferRequest& request, const accel::Model& model,
                                         size_t max_images,
                                         const preprocess::DecodeLimits& picture_limits = {});

// One output tensor of a response.
struct OutputTensor {
  std::string name;
  // "INT32" (scores), "BYTES" (classification) or "UINT8" (model_input).
  std::string datatype;
  std::vector<int64_t> shape;
  // The elements, row-major, in the member of the datatype.
  std::vector<int32_t> int32s;
  std::vector<std::string> strings;
  std::string uint8s;
  bool binary_data = false;
};

struct InferResult {
  std::string model_name;
  std::string model_version;
  std::string id;
  std::vector<OutputTensor> outputs;
  // The backend that ran the request ("cpu" or "fpga"), the response parameter "backend".
  std::string backend;
};

// The response to `request` once `done` finished OK: model name and the version that answered,
// the request's id, each requested output, and "model_input" if the request asked for it. The
// caller sets `backend`.
InferResult BuildResult(const InferRequest& request, const BoundRequest& bound,
                        const InferenceRequest& done, const accel::Model& model);

// One element of the classification extension: "score:index:label".
std::string ClassificationEntry(int32_t score, uint32_t index, std::string_view label);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_TENSOR_MAPPING_H_
