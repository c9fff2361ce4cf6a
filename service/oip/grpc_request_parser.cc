#include "service/oip/grpc_request_parser.h"

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pynq::service::oip {

namespace {

using ::inference::InferParameter;
using ::inference::InferTensorContents;
using ::inference::ModelInferRequest;

// An integer parameter (int64_param, or uint64_param within int64) in [0, max].
absl::StatusOr<int64_t> NonNegativeInteger(std::string_view where, std::string_view key,
                                           const InferParameter& value, int64_t max) {
  int64_t v = -1;
  if (value.parameter_choice_case() == InferParameter::kInt64Param) {
    v = value.int64_param();
  } else if (value.parameter_choice_case() == InferParameter::kUint64Param &&
             value.uint64_param() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    v = static_cast<int64_t>(value.uint64_param());
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s parameter \"%s\" must be an integer (int64_param)", where, key));
  }
  if (v < 0 || v > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s parameter \"%s\" is %d; it must be between 0 and %d", where, key, v, max));
  }
  return v;
}

// Which typed contents fields hold elements, by name.
std::vector<std::string> FilledContents(const InferTensorContents& c) {
  std::vector<std::string> filled;
  if (c.bool_contents_size() > 0) filled.push_back("bool_contents");
  if (c.int_contents_size() > 0) filled.push_back("int_contents");
  if (c.int64_contents_size() > 0) filled.push_back("int64_contents");
  if (c.uint_contents_size() > 0) filled.push_back("uint_contents");
  if (c.uint64_contents_size() > 0) filled.push_back("uint64_contents");
  if (c.fp32_contents_size() > 0) filled.push_back("fp32_contents");
  if (c.fp64_contents_size() > 0) filled.push_back("fp64_contents");
  if (c.bytes_contents_size() > 0) filled.push_back("bytes_contents");
  return filled;
}

absl::StatusOr<InputTensor> ParseInput(const ModelInferRequest& message, int index) {
  const ModelInferRequest::InferInputTensor& in = message.inputs(index);
  InputTensor input{.name = in.name(), .datatype = in.datatype(),
                    .shape = {in.shape().begin(), in.shape().end()}};
  const std::string what = absl::StrFormat("input %d (\"%s\")", index, in.name());
  const bool pictures = in.datatype() == kBytes;
  if (in.datatype() != kUint8 && !pictures) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s has datatype \"%s\"; pynq-inferd's models take UINT8 pixels or BYTES pictures", what,
        in.datatype()));
  }
  const std::optional<int64_t> count = ElementCount(input.shape);
  if (!count.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s has shape [%s]: dimensions must be non-negative and their product fit in int64",
        what, absl::StrJoin(input.shape, ", ")));
  }
  const std::vector<std::string> filled = FilledContents(in.contents());
  if (message.raw_input_contents_size() > 0) {
    if (!filled.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has contents (%s) although the request uses raw_input_contents; use one or the "
          "other",
          what, absl::StrJoin(filled, ", ")));
    }
    const std::string& raw = message.raw_input_contents(index);
    // BYTES elements carry their own lengths; BindToModel() counts them.
    if (!pictures && static_cast<uint64_t>(raw.size()) != static_cast<uint64_t>(*count)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: raw_input_contents holds %d bytes, but shape [%s] of UINT8 needs %d", what,
          raw.size(), absl::StrJoin(input.shape, ", "), *count));
    }
    input.data = std::string_view(raw);
    return input;
  }
  if (pictures) {
    if (filled.size() != 1 || filled.front() != "bytes_contents") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: BYTES elements (encoded pictures) go in contents.bytes_contents (or in "
          "raw_input_contents); found %s",
          what, filled.empty() ? "no contents" : absl::StrJoin(filled, ", ")));
    }
    const auto& elements = in.contents().bytes_contents();
    if (static_cast<uint64_t>(elements.size()) != static_cast<uint64_t>(*count)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: contents.bytes_contents holds %d pictures, but shape [%s] needs %d", what,
          elements.size(), absl::StrJoin(input.shape, ", "), *count));
    }
    std::string serialized;
    for (const std::string& element : elements) AppendBytesElement(element, serialized);
    input.data = std::move(serialized);
    return input;
  }
  if (filled.size() != 1 || filled.front() != "uint_contents") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: UINT8 elements go in contents.uint_contents (or in raw_input_contents); found %s",
        what, filled.empty() ? "no contents" : absl::StrJoin(filled, ", ")));
  }
  const auto& values = in.contents().uint_contents();
  if (static_cast<uint64_t>(values.size()) != static_cast<uint64_t>(*count)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: contents.uint_contents holds %d values, but shape [%s] needs %d",
                        what, values.size(), absl::StrJoin(input.shape, ", "), *count));
  }
  std::string bytes(values.size(), '\0');
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] > 255) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: contents.uint_contents[%d] is %d, outside UINT8's 0..255", what, i, values[i]));
    }
    bytes[i] = static_cast<char>(values[i]);
  }
  input.data = std::move(bytes);
  return input;
}

}  // namespace

absl::StatusOr<InferRequest> ParseModelInferRequest(const ModelInferRequest& message) {
  InferRequest request{.model_name = message.model_name(),
                       .model_version = message.model_version(),
                       .id = message.id()};
  if (auto it = message.parameters().find("timeout"); it != message.parameters().end()) {
    // Up to a day, in microseconds; absl::Duration holds far more.
    absl::StatusOr<int64_t> us =
        NonNegativeInteger("request", "timeout", it->second, int64_t{86'400'000'000});
    if (!us.ok()) return us.status();
    request.timeout = absl::Microseconds(*us);
  }
  if (auto it = message.parameters().find("return_model_input");
      it != message.parameters().end()) {
    if (it->second.parameter_choice_case() != InferParameter::kBoolParam) {
      return absl::InvalidArgumentError(
          "request parameter \"return_model_input\" must be a bool (bool_param)");
    }
    request.return_model_input = it->second.bool_param();
  }
  if (message.inputs_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("request has no inputs; send one input \"%s\"", kInputName));
  }
  if (message.raw_input_contents_size() > 0 &&
      message.raw_input_contents_size() != message.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "request has %d raw_input_contents for %d inputs; give one per input or none",
        message.raw_input_contents_size(), message.inputs_size()));
  }
  for (int i = 0; i < message.inputs_size(); ++i) {
    absl::StatusOr<InputTensor> input = ParseInput(message, i);
    if (!input.ok()) return input.status();
    request.inputs.push_back(*std::move(input));
  }
  std::set<std::string> names;
  for (const auto& out : message.outputs()) {
    if (!names.insert(out.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("output \"%s\" is requested twice", out.name()));
    }
    RequestedOutput output{.name = out.name()};
    if (auto it = out.parameters().find("classification"); it != out.parameters().end()) {
      absl::StatusOr<int64_t> k =
          NonNegativeInteger(absl::StrFormat("output \"%s\"", out.name()), "classification",
                             it->second, std::numeric_limits<uint32_t>::max());
      if (!k.ok()) return k.status();
      if (*k == 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "output \"%s\" parameter \"classification\" is 0; ask for at least 1 class",
            out.name()));
      }
      output.classification = static_cast<uint32_t>(*k);
    }
    request.outputs.push_back(std::move(output));
  }
  return request;
}

}  // namespace pynq::service::oip
