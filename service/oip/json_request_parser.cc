#include "service/oip/json_request_parser.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace pynq::service::oip {

namespace {

using Json = nlohmann::json;

// A scalar parameter value as JSON gives it.
struct Scalar {
  enum Kind { kBool, kInteger, kUnsigned, kFloat, kString, kNull } kind;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
};

// Where the parser is. Each frame is one open object or array.
enum class Frame {
  kRoot,           // the request object
  kRequestParams,  // its "parameters"
  kInputs,         // its "inputs" array
  kInput,          // one input object
  kInputParams,
  kShape,
  kData,  // "data" and the arrays nested in it
  kOutputs,
  kOutput,
  kOutputParams,
};

// One input as read, before the checks that need all of it.
struct PendingInput {
  InputTensor tensor;
  std::set<std::string> keys;
  std::string data;
  // String elements of "data" (BYTES: base64 pictures), in order.
  std::vector<std::string> strings;
  bool has_data = false;
  std::optional<uint64_t> binary_size;
  size_t data_elements = 0;
};

class Handler {
 public:
  explicit Handler(const JsonLimits& limits) : limits_(limits) {}

  // nlohmann::json's SAX interface: returning false stops the parse (Fail() says why).
  bool null() { return OnScalar({.kind = Scalar::kNull}, "null"); }
  bool boolean(bool v) { return OnScalar({.kind = Scalar::kBool, .b = v}, "a boolean"); }
  bool number_integer(Json::number_integer_t v) {
    return OnScalar({.kind = Scalar::kInteger, .i = v}, absl::StrFormat("%d", v));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    return OnScalar({.kind = Scalar::kUnsigned, .u = v}, absl::StrFormat("%d", v));
  }
  bool number_float(Json::number_float_t, const Json::string_t& text) {
    return OnScalar({.kind = Scalar::kFloat}, text);
  }
  bool string(Json::string_t& v) {
    // A picture in "data" is as long as the body allows (the HTTP server bounds it).
    if (v.size() > limits_.max_string_bytes && (frames_.empty() || top() != Frame::kData)) {
      return Fail(absl::StrFormat("a string of %d bytes is longer than the %d allowed", v.size(),
                                  limits_.max_string_bytes));
    }
    string_ = std::move(v);
    return OnScalar({.kind = Scalar::kString}, "a string");
  }
  bool binary(Json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t);
  bool end_object();
  bool start_array(std::size_t);
  bool end_array();
  bool key(Json::string_t& k);
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(
          absl::StrFormat("the body is not valid JSON (at byte %d): %s", position, e.what()));
    }
    return false;
  }

  const absl::Status& error() const { return error_; }
  // The request once the document has ended; checks what needs the whole of it.
  absl::StatusOr<InferRequest> Finish(std::string_view binary);

 private:
  bool Fail(std::string message) {
    if (error_.ok()) error_ = absl::InvalidArgumentError(std::move(message));
    return false;
  }
  Frame top() const { return frames_.back(); }
  std::string InputName() const {
    return absl::StrFormat("input %d", static_cast<int>(inputs_.size()) - 1);
  }
  std::string OutputName() const {
    return absl::StrFormat("output %d", static_cast<int>(request_.outputs.size()) - 1);
  }
  // Records `key_` in `seen`; false (failed) if it was there already.
  bool FirstTime(std::set<std::string>& seen, std::string_view where);
  bool OnScalar(const Scalar& v, std::string_view shown);
  bool OnParameter(Frame owner, const Scalar& v, std::string_view shown);
  // An integer >= 0 from a parameter or shape value, or nullopt.
  static std::optional<uint64_t> NonNegative(const Scalar& v) {
    if (v.kind == Scalar::kUnsigned) return v.u;
    if (v.kind == Scalar::kInteger && v.i >= 0) return static_cast<uint64_t>(v.i);
    return std::nullopt;
  }

  const JsonLimits& limits_;
  absl::Status error_;
  std::vector<Frame> frames_;
  size_t data_depth_ = 0;
  // The key whose value comes next, in the innermost object.
  std::string key_;
  // The last string value.
  std::string string_;
  bool root_done_ = false;
  std::set<std::string> root_keys_;
  std::set<std::string> param_keys_;
  std::set<std::string> output_keys_;
  bool has_inputs_ = false;
  InferRequest request_;
  std::vector<PendingInput> inputs_;
};

bool Handler::FirstTime(std::set<std::string>& seen, std::string_view where) {
  if (seen.insert(key_).second) return true;
  return Fail(absl::StrFormat("%s has the key \"%s\" twice", where, key_));
}

bool Handler::key(Json::string_t& k) {
  if (k.size() > limits_.max_string_bytes) {
    return Fail(absl::StrFormat("a key of %d bytes is longer than the %d allowed", k.size(),
                                limits_.max_string_bytes));
  }
  key_ = std::move(k);
  switch (top()) {
    case Frame::kRoot:
      if (key_ != "id" && key_ != "parameters" && key_ != "inputs" && key_ != "outputs") {
        return Fail(absl::StrFormat(
            "the request has an unknown key \"%s\"; it takes id, parameters, inputs, outputs",
            key_));
      }
      return FirstTime(root_keys_, "the request");
    case Frame::kInput:
      if (key_ != "name" && key_ != "shape" && key_ != "datatype" && key_ != "parameters" &&
          key_ != "data") {
        return Fail(absl::StrFormat(
            "%s has an unknown key \"%s\"; an input takes name, shape, datatype, parameters, "
            "data",
            InputName(), key_));
      }
      return FirstTime(inputs_.back().keys, InputName());
    case Frame::kOutput:
      if (key_ != "name" && key_ != "parameters") {
        return Fail(absl::StrFormat(
            "%s has an unknown key \"%s\"; an output takes name, parameters", OutputName(),
            key_));
      }
      return FirstTime(output_keys_, OutputName());
    case Frame::kRequestParams:
    case Frame::kInputParams:
    case Frame::kOutputParams:
      if (param_keys_.size() >= limits_.max_parameters) {
        return Fail(absl::StrFormat("more than %d parameters in one object",
                                    limits_.max_parameters));
      }
      return FirstTime(param_keys_, "a \"parameters\" object");
    default:
      return Fail("unexpected key");  // nlohmann calls key() only inside objects
  }
}

bool Handler::start_object(std::size_t) {
  if (frames_.empty()) {
    if (root_done_) return Fail("the body holds more than one JSON value");
    frames_.push_back(Frame::kRoot);
    return true;
  }
  switch (top()) {
    case Frame::kRoot:
      if (key_ != "parameters") {
        return Fail(absl::StrFormat("\"%s\" must not be an object", key_));
      }
      param_keys_.clear();
      frames_.push_back(Frame::kRequestParams);
      return true;
    case Frame::kInputs:
      if (inputs_.size() >= limits_.max_inputs) {
        return Fail(absl::StrFormat("more than %d inputs", limits_.max_inputs));
      }
      inputs_.emplace_back();
      frames_.push_back(Frame::kInput);
      return true;
    case Frame::kInput:
      if (key_ != "parameters") {
        return Fail(absl::StrFormat("%s: \"%s\" must not be an object", InputName(), key_));
      }
      param_keys_.clear();
      frames_.push_back(Frame::kInputParams);
      return true;
    case Frame::kOutputs:
      if (request_.outputs.size() >= limits_.max_outputs) {
        return Fail(absl::StrFormat("more than %d outputs", limits_.max_outputs));
      }
      request_.outputs.emplace_back();
      output_keys_.clear();
      frames_.push_back(Frame::kOutput);
      return true;
    case Frame::kOutput:
      if (key_ != "parameters") {
        return Fail(absl::StrFormat("%s: \"%s\" must not be an object", OutputName(), key_));
      }
      param_keys_.clear();
      frames_.push_back(Frame::kOutputParams);
      return true;
    case Frame::kRequestParams:
    case Frame::kInputParams:
    case Frame::kOutputParams:
      return Fail(absl::StrFormat("parameter \"%s\" must be a string, number or boolean", key_));
    case Frame::kShape:
      return Fail("a shape holds integers, not objects");
    case Frame::kData:
      return Fail(absl::StrFormat("%s: \"data\" holds integers 0..255, not objects", InputName()));
  }
  return Fail("unexpected object");
}

bool Handler::end_object() {
  const Frame frame = top();
  frames_.pop_back();
  if (frame == Frame::kRoot) root_done_ = true;
  if (frame == Frame::kOutput && request_.outputs.back().name.empty()) {
    return Fail(absl::StrFormat("%s has no \"name\"", OutputName()));
  }
  return true;
}

bool Handler::start_array(std::size_t) {
  if (frames_.empty()) return Fail("the body must be a JSON object, not an array");
  switch (top()) {
    case Frame::kRoot:
      if (key_ == "inputs") {
        has_inputs_ = true;
        frames_.push_back(Frame::kInputs);
        return true;
      }
      if (key_ == "outputs") {
        frames_.push_back(Frame::kOutputs);
        return true;
      }
      return Fail(absl::StrFormat("\"%s\" must not be an array", key_));
    case Frame::kInput:
      if (key_ == "shape") {
        frames_.push_back(Frame::kShape);
        return true;
      }
      if (key_ == "data") {
        inputs_.back().has_data = true;
        frames_.push_back(Frame::kData);
        data_depth_ = 1;
        return true;
      }
      return Fail(absl::StrFormat("%s: \"%s\" must not be an array", InputName(), key_));
    case Frame::kData:
      if (++data_depth_ > limits_.max_rank) {
        return Fail(absl::StrFormat("%s: \"data\" is nested deeper than %d levels", InputName(),
                                    limits_.max_rank));
      }
      frames_.push_back(Frame::kData);
      return true;
    case Frame::kShape:
      return Fail(absl::StrFormat("%s: a shape is a flat array of integers", InputName()));
    case Frame::kInputs:
      return Fail("\"inputs\" holds input objects, not arrays");
    case Frame::kOutputs:
      return Fail("\"outputs\" holds output objects, not arrays");
    default:
      return Fail(absl::StrFormat("parameter \"%s\" must be a string, number or boolean", key_));
  }
}

bool Handler::end_array() {
  if (top() == Frame::kData) --data_depth_;
  frames_.pop_back();
  return true;
}

bool Handler::OnScalar(const Scalar& v, std::string_view shown) {
  if (frames_.empty()) return Fail("the body must be a JSON object");
  switch (top()) {
    case Frame::kRoot:
      if (key_ != "id" || v.kind != Scalar::kString) {
        return Fail(absl::StrFormat("\"%s\" must be %s", key_,
                                    key_ == "id" ? "a string" : "an object or array"));
      }
      request_.id = std::move(string_);
      return true;
    case Frame::kInput: {
      InputTensor& tensor = inputs_.back().tensor;
      if (v.kind != Scalar::kString || (key_ != "name" && key_ != "datatype")) {
        return Fail(absl::StrFormat("%s: \"%s\" must be %s, not %s", InputName(), key_,
                                    key_ == "name" || key_ == "datatype" ? "a string" : "an array",
                                    shown));
      }
      (key_ == "name" ? tensor.name : tensor.datatype) = std::move(string_);
      return true;
    }
    case Frame::kOutput:
      if (key_ != "name" || v.kind != Scalar::kString) {
        return Fail(absl::StrFormat("%s: \"%s\" must be a string", OutputName(), key_));
      }
      request_.outputs.back().name = std::move(string_);
      return true;
    case Frame::kShape: {
      std::vector<int64_t>& shape = inputs_.back().tensor.shape;
      const std::optional<uint64_t> dim = NonNegative(v);
      if (!dim.has_value() || *dim > static_cast<uint64_t>(INT64_MAX)) {
        return Fail(absl::StrFormat(
            "%s: shape dimension %d is %s; dimensions are non-negative integers", InputName(),
            shape.size(), shown));
      }
      if (shape.size() >= limits_.max_rank) {
        return Fail(absl::StrFormat("%s: a shape of more than %d dimensions", InputName(),
                                    limits_.max_rank));
      }
      shape.push_back(static_cast<int64_t>(*dim));
      return true;
    }
    case Frame::kData: {
      PendingInput& input = inputs_.back();
      if (v.kind == Scalar::kString) {
        input.strings.push_back(std::move(string_));
        return true;
      }
      if (v.kind != Scalar::kUnsigned || v.u > 255) {
        return Fail(absl::StrFormat(
            "%s: data element %d is %s; pynq-inferd's inputs are UINT8, integers 0..255, or "
            "BYTES, base64 strings",
            InputName(), input.data_elements + input.strings.size(), shown));
      }
      input.data.push_back(static_cast<char>(v.u));
      ++input.data_elements;
      return true;
    }
    case Frame::kRequestParams:
    case Frame::kInputParams:
    case Frame::kOutputParams:
      return OnParameter(top(), v, shown);
    case Frame::kInputs:
      return Fail(absl::StrFormat("\"inputs\" holds input objects, not %s", shown));
    case Frame::kOutputs:
      return Fail(absl::StrFormat("\"outputs\" holds output objects, not %s", shown));
  }
  return Fail("unexpected value");
}

bool Handler::OnParameter(Frame owner, const Scalar& v, std::string_view shown) {
  if (v.kind == Scalar::kNull) {
    return Fail(absl::StrFormat("parameter \"%s\" must be a string, number or boolean", key_));
  }
  if (owner == Frame::kRequestParams && key_ == "timeout") {
    const std::optional<uint64_t> us = NonNegative(v);
    if (!us.has_value() || *us > 86'400'000'000u) {
      return Fail(absl::StrFormat(
          "parameter \"timeout\" is %s; it is an integer of microseconds, 0 to 86400000000",
          shown));
    }
    request_.timeout = absl::Microseconds(static_cast<int64_t>(*us));
  } else if ((owner == Frame::kRequestParams && key_ == "binary_data_output") ||
             (owner == Frame::kRequestParams && key_ == "return_model_input") ||
             (owner == Frame::kOutputParams && key_ == "binary_data")) {
    if (v.kind != Scalar::kBool) {
      return Fail(absl::StrFormat("parameter \"%s\" must be true or false, not %s", key_, shown));
    }
    (owner == Frame::kOutputParams      ? request_.outputs.back().binary_data
     : key_ == "binary_data_output" ? request_.binary_data_output
                                    : request_.return_model_input) = v.b;
  } else if (owner == Frame::kInputParams && key_ == "binary_data_size") {
    const std::optional<uint64_t> size = NonNegative(v);
    if (!size.has_value()) {
      return Fail(absl::StrFormat(
          "%s: parameter \"binary_data_size\" is %s; it is a byte count >= 0", InputName(),
          shown));
    }
    inputs_.back().binary_size = *size;
  } else if (owner == Frame::kOutputParams && key_ == "classification") {
    const std::optional<uint64_t> k = NonNegative(v);
    if (!k.has_value() || *k < 1 || *k > UINT32_MAX) {
      return Fail(absl::StrFormat(
          "%s: parameter \"classification\" is %s; it is the number of classes, at least 1",
          OutputName(), shown));
    }
    request_.outputs.back().classification = static_cast<uint32_t>(*k);
  }
  return true;
}

absl::StatusOr<InferRequest> Handler::Finish(std::string_view binary) {
  if (!has_inputs_ || inputs_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the request has no inputs; send one input \"%s\"", kInputName));
  }
  std::set<std::string> output_names;
  for (const RequestedOutput& output : request_.outputs) {
    if (!output_names.insert(output.name).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("output \"%s\" is requested twice", output.name));
    }
  }
  size_t binary_used = 0;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    PendingInput& input = inputs_[i];
    const std::string what = absl::StrFormat("input %d (\"%s\")", i, input.tensor.name);
    for (const char* required : {"name", "datatype", "shape"}) {
      if (!input.keys.contains(required)) {
        return absl::InvalidArgumentError(absl::StrFormat("%s has no \"%s\"", what, required));
      }
    }
    const bool pictures = input.tensor.datatype == kBytes;
    if (input.tensor.datatype != kUint8 && !pictures) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has datatype \"%s\"; pynq-inferd's models take UINT8 pixels or BYTES pictures",
          what, input.tensor.datatype));
    }
    const std::optional<int64_t> count = ElementCount(input.tensor.shape);
    if (!count.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has shape [%s], whose product does not fit in int64", what,
          absl::StrJoin(input.tensor.shape, ", ")));
    }
    if (input.has_data == input.binary_size.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s needs exactly one of \"data\" and the \"binary_data_size\" parameter", what));
    }
    if (input.binary_size.has_value()) {
      if (*input.binary_size > binary.size() - binary_used) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: binary_data_size is %d, but only %d bytes of binary data are left", what,
            *input.binary_size, binary.size() - binary_used));
      }
      // BYTES elements carry their own lengths; BindToModel() counts them.
      if (!pictures && *input.binary_size != static_cast<uint64_t>(*count)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: binary_data_size is %d, but shape [%s] of UINT8 needs %d bytes", what,
            *input.binary_size, absl::StrJoin(input.tensor.shape, ", "), *count));
      }
      input.tensor.data = binary.substr(binary_used, *input.binary_size);
      binary_used += *input.binary_size;
    } else if (pictures) {
      if (input.data_elements > 0 || input.strings.size() != static_cast<uint64_t>(*count)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: \"data\" of BYTES holds %d strings%s, but shape [%s] needs %d base64 strings",
            what, input.strings.size(),
            input.data_elements > 0 ? absl::StrFormat(" and %d numbers", input.data_elements)
                                    : "",
            absl::StrJoin(input.tensor.shape, ", "), *count));
      }
      std::string serialized;
      std::string decoded;
      for (size_t e = 0; e < input.strings.size(); ++e) {
        if (!absl::Base64Unescape(input.strings[e], &decoded)) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: data element %d is not base64 (RFC 4648: A-Z a-z 0-9 + /, = padding); a "
              "BYTES element in JSON is a base64-encoded picture",
              what, e));
        }
        AppendBytesElement(decoded, serialized);
        std::string().swap(input.strings[e]);
      }
      input.tensor.data = std::move(serialized);
    } else {
      if (!input.strings.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: \"data\" of UINT8 holds %d strings; UINT8 elements are integers 0..255 (send "
            "base64 pictures as datatype BYTES)",
            what, input.strings.size()));
      }
      if (input.data_elements != static_cast<uint64_t>(*count)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: \"data\" holds %d elements, but shape [%s] needs %d", what,
                            input.data_elements, absl::StrJoin(input.tensor.shape, ", "), *count));
      }
      input.tensor.data = std::move(input.data);
    }
    request_.inputs.push_back(std::move(input.tensor));
  }
  if (binary_used != binary.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the body has %d bytes of binary data after the JSON, but the inputs' binary_data_size "
        "add up to %d",
        binary.size(), binary_used));
  }
  return std::move(request_);
}

}  // namespace

absl::StatusOr<InferRequest> ParseJsonInferRequest(std::string_view json, std::string_view binary,
                                                   const JsonLimits& limits) {
  Handler handler(limits);
  bool parsed = false;
  try {
    parsed = Json::sax_parse(json.begin(), json.end(), &handler);
  } catch (const Json::exception& e) {
    // The SAX parser reports errors through parse_error(); this is a guard for anything else.
    return absl::InvalidArgumentError(absl::StrCat("the body is not valid JSON: ", e.what()));
  }
  if (!parsed) {
    if (!handler.error().ok()) return handler.error();
    return absl::InvalidArgumentError("the body is not valid JSON");
  }
  return handler.Finish(binary);
}

}  // namespace pynq::service::oip
