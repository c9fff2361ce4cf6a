// A loaded, validated model: identity, input shape, labels, the engine's layer program and the
// weights in the layout the engine reads (accel/model/MODEL_FORMAT.md).
//
//   absl::StatusOr<std::shared_ptr<const Model>> model = Model::LoadFile("mnist-bnn-tfc.pim");
//   if (!model.ok()) return model.status();  // kDataLoss, kInvalidArgument or kUnimplemented
//   for (const Layer& layer : (*model)->layers()) { ... (*model)->Params(layer) ... }
//
// A Model is immutable after loading and safe to share between threads; backends hold it by
// std::shared_ptr<const Model> so a model stays alive while any batch still runs on it.
#ifndef PYNQ_ACCEL_MODEL_MODEL_H_
#define PYNQ_ACCEL_MODEL_MODEL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "accel/model/model_format.h"

namespace pynq::accel {

struct Shape {
  uint32_t c = 0;
  uint32_t h = 0;
  uint32_t w = 0;

  size_t elements() const { return size_t{c} * h * w; }
  friend bool operator==(const Shape&, const Shape&) = default;
};

// How a picture (a PNG, JPEG or PGM of any size) becomes this model's input, as the model file
// declares it (MODEL_FORMAT.md "Input preprocessing"); preprocess/ carries it out. Raw input
// tensors never go through it.
enum class PictureMethod : uint32_t {
  // The model takes raw tensors only; pictures are refused. What a format v1 file means.
  kNone = 0,
  // Gray, light content on dark, cropped to the content, scaled by area averaging to fit
  // box_width x box_height keeping its aspect ratio, placed in the input as `placement` says.
  kCropFit = 1,
};
enum class Placement : uint32_t { kBoxCentre = 0, kCentreOfMass = 1 };
// kKeep: the background becomes 0 and the content keeps its contrast (garments: a grey shirt
// stays grey). kStretch: the background becomes 0 and the content's ink level 255 (digits:
// MNIST strokes are saturated whatever pen drew them).
enum class Levels : uint32_t { kKeep = 0, kStretch = 1 };
enum class Foreground : uint32_t { kLightOnDark = 0, kDarkOnLight = 1 };

struct InputPreprocessing {
  PictureMethod method = PictureMethod::kNone;
  // The box the content is scaled to fit (kCropFit), pixels; within the input's height x width.
  uint32_t box_height = 0;
  uint32_t box_width = 0;
  Placement placement = Placement::kBoxCentre;
  Levels levels = Levels::kKeep;
  // What the model was trained on: the input's content is light on a dark (0) background, or
  // the reverse.
  Foreground foreground = Foreground::kLightOnDark;

  friend bool operator==(const InputPreprocessing&, const InputPreprocessing&) = default;
};

// For people and ListModels, e.g. "crop_fit box=20x20 centre_of_mass stretch light_on_dark",
// or "none".
std::string PreprocessingSummary(const InputPreprocessing& p);

// One layer descriptor of the program, as in the file.
struct Layer {
  engine::Op op;
  Shape in;
  Shape out;
  // Byte ranges inside the WEIGHTS section; 0/0 when the op has none.
  uint32_t weights_offset = 0;
  uint32_t weights_bytes = 0;
  uint32_t params_offset = 0;
  uint32_t params_bytes = 0;
  std::array<int32_t, 3> arg{};
};

class Model {
 public:
  // Parses and validates a whole model file. Never crashes on bad input: every problem is a
  // Status whose code follows MODEL_FORMAT.md "Error codes" and whose message names the field.
  static absl::StatusOr<std::shared_ptr<const Model>> FromBytes(absl::Span<const uint8_t> file);
  // Reads `path` and calls FromBytes(). kNotFound if it cannot be opened; the path is prefixed to
  // every error message.
  static absl::StatusOr<std::shared_ptr<const Model>> LoadFile(const std::string& path);

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& description() const { return description_; }
  const Shape& input_shape() const { return input_shape_; }
  // Bytes of one input image (uint8 CHW).
  size_t input_bytes() const { return input_shape_.elements(); }
  size_t num_classes() const { return labels_.size(); }
  // How pictures become this model's input; method kNone for a format v1 file.
  const InputPreprocessing& preprocessing() const { return preprocessing_; }
  const std::vector<std::string>& labels() const { return labels_; }
  const std::vector<Layer>& layers() const { return layers_; }
  // Size of the file this model was parsed from.
  size_t file_bytes() const { return file_bytes_; }

  // The PROGRAM section exactly as in the file, for copying to the engine's DDR.
  absl::Span<const uint8_t> program_section() const { return program_; }
  // The WEIGHTS section, 64-byte aligned in memory, for copying to the engine's DDR.
  absl::Span<const uint8_t> weights_section() const {
    return {weights_.get(), weights_bytes_};
  }

  // Typed views of a layer's blobs; `layer` must be one of layers(). Sizes were validated at load.
  // Binarized weight rows: out.c rows of WordsForBits(in.c) words each.
  absl::Span<const uint64_t> BitRows(const Layer& layer) const;
  // The whole params blob as int32: thresholds or biases (one per output channel), or for
  // INT8_DENSE and INT8_CONV the three arrays RequantParams() splits.
  absl::Span<const int32_t> Params(const Layer& layer) const;
  // Int8 weights: [out.c][in.elements()] row-major (INT8_DENSE, INT8_DENSE_SCORES) or
  // [out.c][in.c][K][K] (INT8_CONV).
  absl::Span<const int8_t> Int8Weights(const Layer& layer) const;
  // Per-output-channel requantization of INT8_DENSE and INT8_CONV, out.c entries each.
  struct Requantization {
    absl::Span<const int32_t> bias;
    absl::Span<const int32_t> multiplier;
    absl::Span<const int32_t> shift;
  };
  Requantization RequantParams(const Layer& layer) const;

  // One line per layer for people, e.g. "BNN_DENSE 784->64", "INT8_CONV 784->3456 (5x5 ->
  // 6x24x24, relu)".
  std::vector<std::string> LayerSummary() const;

  // Largest activation (in elements) any layer reads or writes; sizes backends' scratch buffers.
  size_t max_features() const;

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };

  Model() = default;
  friend class ModelParser;

  std::string name_;
  std::string version_;
  std::string description_;
  Shape input_shape_;
  std::vector<std::string> labels_;
  InputPreprocessing preprocessing_;
  std::vector<Layer> layers_;
  std::vector<uint8_t> program_;
  std::unique_ptr<uint8_t[], AlignedFree> weights_;
  size_t weights_bytes_ = 0;
  size_t file_bytes_ = 0;
};

}  // namespace pynq::accel

#endif  // PYNQ_ACCEL_MODEL_MODEL_H_
