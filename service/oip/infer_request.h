// An Open Inference Protocol inference request as pynq-inferd reads it, whatever it came in:
// the gRPC ModelInferRequest (grpc_request_parser.h) and the REST JSON body
// (json_request_parser.h) both become an InferRequest, and infer_call.h checks it against the
// model and runs it. Only the protocol's structure is decoded here; what a model accepts
// (input name, shape, size) is checked against the model later (BindToModel()).
//
// Pictures. An input of datatype BYTES carries encoded pictures (PNG, JPEG, PGM), one per
// element, which BindToModel() prepares as the model file declares (preprocess/prepare.h). Its
// data is held in the protocol's own serialization of BYTES elements, whichever way they came
// (gRPC raw_input_contents or bytes_contents, REST base64 strings, the binary data extension, a
// raw picture body): each element is a 4-byte little-endian length followed by that many bytes.
//
//   PYNQ_ASSIGN_OR_RETURN(oip::InferRequest request, oip::ParseJsonInferRequest(body, {}));
//   for (const oip::InputTensor& input : request.inputs) use(input.bytes());
//
// A plain value; an InputTensor whose data is a view (raw gRPC contents, a REST binary part)
// must not outlive the message or body it came from.
#ifndef PYNQ_SERVICE_OIP_INFER_REQUEST_H_
#define PYNQ_SERVICE_OIP_INFER_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pynq::service::oip {

// The names of every model's tensors, and the datatypes the protocol spells them with.
inline constexpr char kInputName[] = "images";
inline constexpr char kScoresOutput[] = "scores";
inline constexpr char kModelInputOutput[] = "model_input";
inline constexpr char kUint8[] = "UINT8";
inline constexpr char kInt32[] = "INT32";
inline constexpr char kBytes[] = "BYTES";

struct InputTensor {
  std::string name;
  std::string datatype;
  // Every dimension >= 0; the product fits in int64 (the parsers check both).
  std::vector<int64_t> shape;
  // The elements, row-major: one byte per UINT8 element; for BYTES, each element as a 4-byte
  // little-endian length and its bytes (see above). A view of the caller's buffer (gRPC
  // raw_input_contents, a REST binary part) or decoded from a typed representation and owned.
  std::variant<std::string_view, std::string> data;

  std::string_view bytes() const {
    if (const std::string* owned = std::get_if<std::string>(&data)) return *owned;
    return std::get<std::string_view>(data);
  }
};

struct RequestedOutput {
  std::string name;
  // The classification extension: the best `classification` classes as BYTES
  // "score:index:label"; 0: the output tensor itself.
  uint32_t classification = 0;
  // REST binary tensor data extension: the output's elements follow the JSON as raw bytes.
  bool binary_data = false;
};

struct InferRequest {
  std::string model_name;
  // Empty: whichever version is loaded.
  std::string model_version;
  // Returned in the response as given.
  std::string id;
  // The "timeout" request parameter: a request still queued after this long is not run.
  std::optional<absl::Duration> timeout;
  std::vector<InputTensor> inputs;
  // Empty: every output of the model, each as its tensor.
  std::vector<RequestedOutput> outputs;
  // REST: the "binary_data_output" request parameter (every output as binary data).
  bool binary_data_output = false;
  // The "return_model_input" request parameter: the response also carries the output
  // "model_input", UINT8 [N, C, H, W], the input the model ran on (for a picture, what
  // preprocessing made of it).
  bool return_model_input = false;
};

// The number of elements of `shape`, or nullopt if a dimension is negative or the product
// overflows int64.
std::optional<int64_t> ElementCount(const std::vector<int64_t>& shape);

// The elements of BYTES data in the serialization above, as views of `data`; kInvalidArgument
// naming `what` if the lengths do not add up to exactly `data`.
absl::StatusOr<std::vector<std::string_view>> SplitBytesElements(std::string_view data,
                                                                 std::string_view what);

// Appends `element` to BYTES data in the serialization above.
void AppendBytesElement(std::string_view element, std::string& data);

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_INFER_REQUEST_H_
