// Reads the body of an OIP REST inference request (POST /v2/models/{name}/infer) into an
// InferRequest, strictly and within bounds:
//
//   {"id": "a", "parameters": {"timeout": 100000},
//    "inputs": [{"name": "images", "shape": [1, 1, 28, 28], "datatype": "UINT8",
//                "data": [0, 0, 12, ...]}],
//    "outputs": [{"name": "scores", "parameters": {"classification": 3}}]}
//
// - The document is one JSON object with only the keys the specification defines ("id",
//   "parameters", "inputs", "outputs"; in an input "name", "shape", "datatype", "parameters",
//   "data"; in an output "name", "parameters"), none twice.
// - "data" is a flat or nested array of integers 0..255 (UINT8), as many as the shape's
//   product; for a BYTES input (pictures, infer_request.h) an array of base64 strings (RFC 4648
//   with padding), one per picture, as many as the shape's product. With the binary tensor data
//   extension an input says "binary_data_size": B in its parameters instead, and its B bytes
//   follow the JSON in `binary` (inputs in order; BYTES elements each as a 4-byte little-endian
//   length and the bytes); every byte of `binary` must belong to an input.
// - Parameters are scalars. Known ones are checked: request "timeout" (integer microseconds,
//   0..86400000000), "binary_data_output" and "return_model_input" (bool); input
//   "binary_data_size" (integer >= 0);
//   output "classification" (integer >= 1) and "binary_data" (bool). Others are ignored.
// - Every input is UINT8 or BYTES; shapes have non-negative dimensions.
// Anything else is kInvalidArgument with a message naming the key, input or element at fault.
//
//   PYNQ_ASSIGN_OR_RETURN(oip::InferRequest request,
//                         oip::ParseJsonInferRequest(json, binary_part));
//   request.model_name = name_from_the_url;
//
// A pure function. Memory is bounded by the input: decoded elements take one byte each and come
// from at least two bytes of JSON (a base64 string decodes to 3/4 of its length), nesting and
// counts are limited (JsonLimits), and binary inputs are views of `binary`, which must outlive
// the result. The parser is nlohmann::json's SAX parser (iterative, so deep nesting cannot
// overflow the stack), driven by a state machine that never builds a document tree. Unit-tested
// in json_request_parser_test.cc; a fuzz target's entry point.
#ifndef PYNQ_SERVICE_OIP_JSON_REQUEST_PARSER_H_
#define PYNQ_SERVICE_OIP_JSON_REQUEST_PARSER_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "service/oip/infer_request.h"

namespace pynq::service::oip {

struct JsonLimits {
  // Most inputs, outputs, and parameters per "parameters" object.
  size_t max_inputs = 16;
  size_t max_outputs = 16;
  size_t max_parameters = 64;
  // Most dimensions of a shape, and deepest nesting of a "data" array.
  size_t max_rank = 16;
  // Longest string value or key, bytes (names, ids, parameter strings); not the strings of
  // "data", which are pictures, bounded by the body.
  size_t max_string_bytes = 4096;
};

absl::StatusOr<InferRequest> ParseJsonInferRequest(std::string_view json,
                                                   std::string_view binary = {},
                                                   const JsonLimits& limits = {});

}  // namespace pynq::service::oip

#endif  // PYNQ_SERVICE_OIP_JSON_REQUEST_PARSER_H_
