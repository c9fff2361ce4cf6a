// The body of an OIP REST inference response (POST /v2/models/{name}/infer):
//
//   {"model_name": "mnist-bnn-tfc", "model_version": "1", "id": "a",
//    "parameters": {"backend": "cpu"},
//    "outputs": [{"name": "scores", "datatype": "INT32", "shape": [1, 10],
//                 "data": [-12, 4, ..., 58, ...]}]}
//
// An output asked for as binary data (the binary tensor data extension) has
// "parameters": {"binary_data_size": B} instead of "data", and its B bytes follow the JSON, in
// output order: INT32 elements little-endian, BYTES elements each as a 4-byte little-endian
// length and the bytes, UINT8 elements (model_input) one byte each. The caller then sends the
// header Inference-Header-Content-Length with `json_bytes`.
//
//   EncodedInferResponse body = EncodeInferResult(result);
//
// A pure function.
#ifndef PYNQ_SERVICE_HTTP_INFER_JSON_H_
#define PYNQ_SERVICE_HTTP_INFER_JSON_H_

#include <cstddef>
#include <string>

#include "service/oip/tensor_mapping.h"

namespace pynq::service::http {

struct EncodedInferResponse {
  // The JSON, followed by the binary outputs if there are any.
  std::string body;
  // Bytes of JSON at the start of `body`.
  size_t json_bytes = 0;
  bool has_binary = false;
};

EncodedInferResponse EncodeInferResult(const oip::InferResult& result);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_INFER_JSON_H_
