// Fuzz target: the body of an Open Inference Protocol REST inference request
// (service/oip/json_request_parser.h), split as service/http/rest_api.cc splits it under the
// binary tensor data extension: the JSON, then the binary input data. Here the JSON ends at the
// first NUL byte (which a JSON text cannot contain) and the rest is the binary part; without a
// NUL the whole input is JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/oip/json_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const size_t nul = body.find('\0');
  const std::string_view json = body.substr(0, nul);
  const std::string_view binary = nul == std::string_view::npos ? "" : body.substr(nul + 1);
  (void)pynq::service::oip::ParseJsonInferRequest(json, binary);
  return 0;
}
