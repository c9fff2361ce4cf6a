#include "service/oip/tensor_mapping.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "preprocess/prepare.h"
#include "service/proto_mapping.h"

namespace pynq::service::oip {

namespace {

// What the model takes, for error messages.
std::string Expected(const accel::Model& model) {
  const accel::Shape& s = model.input_shape();
  return absl::StrFormat("model %s takes one UINT8 input \"%s\" of shape [N, %d, %d, %d]%s or "
                         "[N, %d], or one BYTES input \"%s\" of shape [N] holding encoded "
                         "pictures (PNG, JPEG, PGM)",
                         model.name(), kInputName, s.c, s.h, s.w,
                         s.c == 1 ? absl::StrFormat(", [N, %d, %d]", s.h, s.w) : "",
                         model.input_bytes(), kInputName);
}

// Whether `dims` (the shape without N) is one of the accepted forms of the model's input.
bool AcceptedImageShape(const std::vector<int64_t>& dims, const accel::Model& model) {
  const accel::Shape& s = model.input_shape();
  switch (dims.size()) {
    case 3:
      return dims[0] == s.c && dims[1] == s.h && dims[2] == s.w;
    case 2:
      return s.c == 1 && dims[0] == s.h && dims[1] == s.w;
    case 1:
      return dims[0] == static_cast<int64_t>(model.input_bytes());
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<BoundRequest> BindToModel(const InferRequest& request, const accel::Model& model,
                                         size_t max_images,
                                         const preprocess::DecodeLimits& picture_limits) {
  if (request.inputs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("request has %d inputs; %s", request.inputs.size(), Expected(model)));
  }
  const InputTensor& input = request.inputs.front();
  if (input.name != kInputName) {
    return absl::InvalidArgumentError(
        absl::StrFormat("request has input \"%s\"; %s", input.name, Expected(model)));
  }
  if (input.datatype != kUint8 && input.datatype != kBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "input \"%s\" has datatype %s; %s", input.name, input.datatype, Expected(model)));
  }
  const bool pictures = input.datatype == kBytes;
  const std::vector<int64_t> dims(input.shape.begin() + (input.shape.empty() ? 0 : 1),
                                  input.shape.end());
  const bool shape_ok = pictures ? dims.empty() || (dims.size() == 1 && dims[0] == 1)
                                 : AcceptedImageShape(dims, model);
  if (input.shape.empty() || !shape_ok) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "input \"%s\" has shape [%s]; %s", input.name, absl::StrJoin(input.shape, ", "),
        Expected(model)));
  }
  const int64_t n = input.shape.front();
  if (n < 1 || static_cast<uint64_t>(n) > max_images) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "input \"%s\" holds %d images; a request holds 1 to %d", input.name, n, max_images));
  }
  const std::string_view bytes = input.bytes();
  const size_t image_bytes = model.input_bytes();
  BoundRequest bound;
  bound.images.reserve(n);
  if (pictures) {
    const std::string what = absl::StrFormat("input \"%s\"", input.name);
    absl::StatusOr<std::vector<std::string_view>> elements = SplitBytesElements(bytes, what);
    if (!elements.ok()) return elements.status();
    if (elements->size() != static_cast<size_t>(n)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has %d BYTES elements; shape [%s] needs %d", what, elements->size(),
          absl::StrJoin(input.shape, ", "), n));
    }
    bound.prepared.reserve(n * image_bytes);
    for (int64_t i = 0; i < n; ++i) {
      const std::string_view picture = (*elements)[i];
      absl::StatusOr<preprocess::PreparedInput> prepared = preprocess::PreparePicture(
          {reinterpret_cast<const uint8_t*>(picture.data()), picture.size()}, model,
          picture_limits);
      if (!prepared.ok()) {
        return absl::Status(prepared.status().code(),
                            absl::StrFormat("%s picture %d: %s", what, i,
                                            prepared.status().message()));
      }
      bound.prepared.insert(bound.prepared.end(), prepared->pixels.begin(),
                            prepared->pixels.end());
    }
    const std::string_view all(reinterpret_cast<const char*>(bound.prepared.data()),
                               bound.prepared.size());
    for (int64_t i = 0; i < n; ++i) {
      bound.images.push_back(all.substr(i * image_bytes, image_bytes));
    }
  } else {
    if (bytes.size() != static_cast<size_t>(n) * image_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("input \"%s\" has %d bytes of data; shape [%s] needs %d", input.name,
                          bytes.size(), absl::StrJoin(input.shape, ", "), n * image_bytes));
    }
    for (int64_t i = 0; i < n; ++i) {
      bound.images.push_back(bytes.substr(i * image_bytes, image_bytes));
    }
  }
  for (const RequestedOutput& output : request.outputs) {
    if (output.name != kScoresOutput) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "model %s has no output \"%s\"; its output is \"%s\"", model.name(), output.name,
          kScoresOutput));
    }
    if (output.classification > model.num_classes()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "output \"%s\" asks for classification of %d classes, but model %s has %d",
          output.name, output.classification, model.name(), model.num_classes()));
    }
    bound.outputs.push_back({.name = output.name,
                             .classification = output.classification,
                             .binary_data = output.binary_data || request.binary_data_output});
  }
  if (bound.outputs.empty()) {
    bound.outputs.push_back({.name = kScoresOutput, .binary_data = request.binary_data_output});
  }
  return bound;
}

std::string ClassificationEntry(int32_t score, uint32_t index, std::string_view label) {
  return absl::StrCat(score, ":", index, ":", absl::string_view(label.data(), label.size()));
}

InferResult BuildResult(const InferRequest& request, const BoundRequest& bound,
                        const InferenceRequest& done, const accel::Model& model) {
  InferResult result{.model_name = model.name(),
                     .model_version = model.version(),
                     .id = request.id};
  const int64_t n = static_cast<int64_t>(done.image_count());
  const int64_t classes = static_cast<int64_t>(model.num_classes());
  for (const OutputSpec& spec : bound.outputs) {
    OutputTensor& out = result.outputs.emplace_back();
    out.name = spec.name;
    out.binary_data = spec.binary_data;
    if (spec.classification == 0) {
      out.datatype = kInt32;
      out.shape = {n, classes};
      out.int32s.reserve(n * classes);
      for (int64_t i = 0; i < n; ++i) {
        absl::Span<const int32_t> scores = done.scores(i);
        out.int32s.insert(out.int32s.end(), scores.begin(), scores.end());
      }
    } else {
      out.datatype = kBytes;
      out.shape = {n, static_cast<int64_t>(spec.classification)};
      out.strings.reserve(n * spec.classification);
      for (int64_t i = 0; i < n; ++i) {
        absl::Span<const int32_t> scores = done.scores(i);
        for (uint32_t c : TopClasses(scores, spec.classification)) {
          out.strings.push_back(ClassificationEntry(scores[c], c, model.labels()[c]));
        }
      }
    }
  }
  if (request.return_model_input) {
    const accel::Shape& s = model.input_shape();
    OutputTensor& out = result.outputs.emplace_back();
    out.name = kModelInputOutput;
    out.datatype = kUint8;
    out.shape = {n, s.c, s.h, s.w};
    out.binary_data = request.binary_data_output;
    for (std::string_view image : bound.images) out.uint8s.append(image);
  }
  return result;
}

}  // namespace pynq::service::oip
