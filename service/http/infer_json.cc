#include "service/http/infer_json.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "nlohmann/json.hpp"

namespace pynq::service::http {

namespace {

void AppendLittleEndian32(uint32_t v, std::string& out) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

EncodedInferResponse EncodeInferResult(const oip::InferResult& result) {
  nlohmann::json json = {{"model_name", result.model_name},
                         {"model_version", result.model_version}};
  if (!result.id.empty()) json["id"] = result.id;
  if (!result.backend.empty()) json["parameters"] = {{"backend", result.backend}};
  nlohmann::json outputs = nlohmann::json::array();
  std::string binary;
  for (const oip::OutputTensor& tensor : result.outputs) {
    nlohmann::json out = {
        {"name", tensor.name}, {"datatype", tensor.datatype}, {"shape", tensor.shape}};
    if (tensor.binary_data) {
      const size_t before = binary.size();
      for (int32_t v : tensor.int32s) AppendLittleEndian32(static_cast<uint32_t>(v), binary);
      for (const std::string& s : tensor.strings) {
        AppendLittleEndian32(static_cast<uint32_t>(s.size()), binary);
        binary += s;
      }
      binary += tensor.uint8s;
      out["parameters"] = {{"binary_data_size", binary.size() - before}};
    } else if (tensor.datatype == oip::kBytes) {
      out["data"] = tensor.strings;
    } else if (tensor.datatype == oip::kUint8) {
      nlohmann::json data = nlohmann::json::array();
      for (char c : tensor.uint8s) data.push_back(static_cast<unsigned char>(c));
      out["data"] = std::move(data);
    } else {
      out["data"] = tensor.int32s;
    }
    outputs.push_back(std::move(out));
  }
  json["outputs"] = std::move(outputs);
  EncodedInferResponse encoded;
  // Labels come from model files; replace, rather than throw on, bytes that are not UTF-8.
  encoded.body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  encoded.json_bytes = encoded.body.size();
  encoded.has_binary = !binary.empty() ||
                       std::any_of(result.outputs.begin(), result.outputs.end(),
                                   [](const oip::OutputTensor& t) { return t.binary_data; });
  encoded.body += binary;
  return encoded;
}

}  // namespace pynq::service::http
