#include "accel/model/model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "accel/model/layer_rules.h"
#include "base/status_macros.h"
#include "zlib.h"

namespace pynq::accel {

namespace {

using engine::Op;

// Bounds-checked little-endian reads from one section. Running past the end of the section is
// an inconsistency of the file (the section's size says less than its content needs).
class SectionReader {
 public:
  SectionReader(absl::Span<const uint8_t> bytes, std::string_view section)
      : bytes_(bytes), section_(section) {}

  template <typename T>
  absl::StatusOr<T> Read(std::string_view field) {
    if (bytes_.size() - pos_ < sizeof(T)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: field '%s' at section offset %d runs past the section's %d bytes",
                          section_, field, pos_, bytes_.size()));
    }
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  absl::StatusOr<std::string> ReadString(std::string_view field, size_t min_bytes,
                                         size_t max_bytes) {
    PYNQ_ASSIGN_OR_RETURN(uint16_t length, Read<uint16_t>(field));
    if (length < min_bytes || length > max_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %s is %d bytes long, expected %d..%d", section_, field, length, min_bytes,
          max_bytes));
    }
    if (bytes_.size() - pos_ < length) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %s (%d bytes) runs past the section's %d bytes", section_, field, length,
          bytes_.size()));
    }
    std::string value(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return value;
  }

  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  absl::Span<const uint8_t> bytes_;
  std::string_view section_;
  size_t pos_ = 0;
};

template <typename T>
T LoadLe(absl::Span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool AllZero(absl::Span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

struct SectionRange {
  std::string_view name;
  uint32_t offset;
  uint32_t bytes;
  uint64_t end() const { return uint64_t{offset} + bytes; }
};

absl::Status CheckRange(uint32_t value, uint32_t lo, uint32_t hi, std::string_view what) {
  if (value < lo || value > hi) {
    return absl::InvalidArgumentError(
        absl::StrFormat("META: %s is %d, expected %d..%d", what, value, lo, hi));
  }
  return absl::OkStatus();
}

}  // namespace

// Parses one file into a Model. A class (not free functions) so it can fill Model's private fields
// as a friend while the steps stay small.
class ModelParser {
 public:
  explicit ModelParser(absl::Span<const uint8_t> file) : file_(file) {}

  absl::StatusOr<std::shared_ptr<const Model>> Parse() {
    model_.reset(new Model());
    PYNQ_RETURN_IF_ERROR(ParseHeader());
    PYNQ_RETURN_IF_ERROR(ParseMeta());
    PYNQ_RETURN_IF_ERROR(ParseProgram());
    PYNQ_RETURN_IF_ERROR(CopyWeights());
    return std::shared_ptr<const Model>(std::move(model_));
  }

 private:
  // HEADER (MODEL_FORMAT.md "Header"), in the order its checks must run: a file that is not a
  // model at all, then one this build cannot read, then one damaged in transit, then one whose
  // sections are laid out wrongly.
  absl::Status ParseHeader() {
    PYNQ_RETURN_IF_ERROR(CheckMagic());
    PYNQ_RETURN_IF_ERROR(CheckVersions());
    PYNQ_RETURN_IF_ERROR(CheckSizeAndChecksum());
    return LocateSections();
  }

  // The magic bytes, and room for the header and the checksum.
  absl::Status CheckMagic() {
    const size_t magic_bytes = std::min(file_.size(), format::kMagic.size());
    if (magic_bytes > 0 && std::memcmp(file_.data(), format::kMagic.data(), magic_bytes) != 0) {
      return absl::InvalidArgumentError(
          "not a pynq-infer model file: the magic bytes are not \"PYNQMDL\\0\"");
    }
    if (file_.size() < format::kHeaderBytes + format::kChecksumBytes) {
      return absl::DataLossError(absl::StrFormat(
          "truncated: the file has %d bytes, fewer than its %d-byte header and checksum",
          file_.size(), format::kHeaderBytes + format::kChecksumBytes));
    }
    return absl::OkStatus();
  }

  // The format and engine ABI versions this build reads, and the header size they imply.
  absl::Status CheckVersions() {
    const auto format_version = LoadLe<uint16_t>(file_, format::kFormatVersionOffset);
    const auto abi_version = LoadLe<uint16_t>(file_, format::kAbiVersionOffset);
    if (format_version < format::kOldestFormatVersion ||
        format_version > format::kFormatVersion) {
      return absl::UnimplementedError(absl::StrFormat(
          "format_version is %d; this build reads versions %d..%d", format_version,
          format::kOldestFormatVersion, format::kFormatVersion));
    }
    format_version_ = format_version;
    if (abi_version != format::kEngineAbiVersion) {
      return absl::UnimplementedError(absl::StrFormat(
          "engine_abi_version is %d; this build's engine ABI is version %d", abi_version,
          format::kEngineAbiVersion));
    }
    const auto header_bytes = LoadLe<uint32_t>(file_, format::kHeaderBytesOffset);
    if (header_bytes != format::kHeaderBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "header_bytes is %d, expected %d", header_bytes, format::kHeaderBytes));
    }
    return absl::OkStatus();
  }

  // The file's size as the header states it, the CRC-32 over everything before it, and the
  // header's reserved bytes.
  absl::Status CheckSizeAndChecksum() {
    const auto file_bytes = LoadLe<uint32_t>(file_, format::kFileBytesOffset);
    if (file_bytes > file_.size()) {
      return absl::DataLossError(absl::StrFormat(
          "truncated: the header says the file has %d bytes, but only %d are present", file_bytes,
          file_.size()));
    }
    if (file_bytes < file_.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the header says the file has %d bytes, but %d are present (trailing bytes)",
          file_bytes, file_.size()));
    }
    const size_t body = file_.size() - format::kChecksumBytes;
    const auto stored_crc = LoadLe<uint32_t>(file_, body);
    const auto actual_crc = static_cast<uint32_t>(crc32(0L, file_.data(), body));
    if (stored_crc != actual_crc) {
      return absl::DataLossError(absl::StrFormat(
          "corrupted: CRC-32 is 0x%08x, but the file stores 0x%08x", actual_crc, stored_crc));
    }
    if (!AllZero(file_.subspan(format::kReservedOffset,
                               format::kHeaderBytes - format::kReservedOffset))) {
      return absl::InvalidArgumentError("header: reserved bytes 44..63 are not zero");
    }
    return absl::OkStatus();
  }

  // The META, PROGRAM and WEIGHTS sections: inside the file, in the fixed layout, WEIGHTS aligned
  // and zero-padded. Sets meta_, program_ and weights_.
  absl::Status LocateSections() {
    const size_t body = file_.size() - format::kChecksumBytes;
    std::array<SectionRange, 3> sections = {
        SectionRange{"META", LoadLe<uint32_t>(file_, format::kMetaOffsetOffset),
                     LoadLe<uint32_t>(file_, format::kMetaOffsetOffset + 4)},
        SectionRange{"PROGRAM", LoadLe<uint32_t>(file_, format::kMetaOffsetOffset + 8),
                     LoadLe<uint32_t>(file_, format::kMetaOffsetOffset + 12)},
        SectionRange{"WEIGHTS", LoadLe<uint32_t>(file_, format::kMetaOffsetOffset + 16),
                     LoadLe<uint32_t>(file_, format::kMetaOffsetOffset + 20)}};
    for (const SectionRange& section : sections) {
      if (section.end() > body) {
        return absl::DataLossError(absl::StrFormat(
            "%s section [%d, %d) runs past the end of the data at %d", section.name,
            section.offset, section.end(), body));
      }
    }
    // The layout is fixed (MODEL_FORMAT.md "Layout"): each section follows the previous one
    // directly, except for the zero padding that aligns WEIGHTS, and the CRC follows WEIGHTS.
    const uint64_t program_end = sections[1].end();
    const uint64_t aligned_weights =
        (program_end + format::kWeightsAlignment - 1) / format::kWeightsAlignment *
        format::kWeightsAlignment;
    const std::array<uint64_t, 3> expected_offsets = {format::kHeaderBytes, sections[0].end(),
                                                      aligned_weights};
    for (size_t i = 0; i < sections.size(); ++i) {
      if (sections[i].offset != expected_offsets[i]) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s section starts at %d, expected %d", sections[i].name, sections[i].offset,
            expected_offsets[i]));
      }
    }
    if (sections[2].end() != body) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS section ends at %d, but the checksum is at %d", sections[2].end(), body));
    }
    if (!AllZero(file_.subspan(program_end, aligned_weights - program_end))) {
      return absl::InvalidArgumentError("padding before the WEIGHTS section is not zero");
    }
    const SectionRange& weights = sections[2];
    if (weights.bytes % format::kWeightsAlignment != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS section size %d is not a multiple of %d", weights.bytes,
          format::kWeightsAlignment));
    }
    meta_ = file_.subspan(sections[0].offset, sections[0].bytes);
    program_ = file_.subspan(sections[1].offset, sections[1].bytes);
    weights_ = file_.subspan(weights.offset, weights.bytes);
    model_->file_bytes_ = file_.size();
    return absl::OkStatus();
  }

  absl::Status ParseMeta() {
    SectionReader r(meta_, "META");
    PYNQ_ASSIGN_OR_RETURN(model_->name_, r.ReadString("name", 1, format::kMaxNameBytes));
    if (!std::all_of(model_->name_.begin(), model_->name_.end(), IsNameChar)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "META: name \"%s\" may only contain [a-z0-9._-]", absl::CEscape(model_->name_)));
    }
    PYNQ_ASSIGN_OR_RETURN(model_->version_, r.ReadString("version", 1, format::kMaxVersionBytes));
    if (!std::all_of(model_->version_.begin(), model_->version_.end(),
                     [](char c) { return c > ' ' && c < 0x7f; })) {
      return absl::InvalidArgumentError("META: version must be printable ASCII without spaces");
    }
    PYNQ_ASSIGN_OR_RETURN(model_->description_,
                          r.ReadString("description", 0, format::kMaxDescriptionBytes));
    Shape& in = model_->input_shape_;
    PYNQ_ASSIGN_OR_RETURN(in.c, r.Read<uint32_t>("input_channels"));
    PYNQ_ASSIGN_OR_RETURN(in.h, r.Read<uint32_t>("input_height"));
    PYNQ_ASSIGN_OR_RETURN(in.w, r.Read<uint32_t>("input_width"));
    PYNQ_ASSIGN_OR_RETURN(uint32_t num_classes, r.Read<uint32_t>("num_classes"));
    PYNQ_RETURN_IF_ERROR(CheckRange(in.c, 1, format::kMaxInputChannels, "input_channels"));
    PYNQ_RETURN_IF_ERROR(CheckRange(in.h, 1, format::kMaxInputSide, "input_height"));
    PYNQ_RETURN_IF_ERROR(CheckRange(in.w, 1, format::kMaxInputSide, "input_width"));
    PYNQ_RETURN_IF_ERROR(
        CheckRange(num_classes, format::kMinClasses, engine::kMaxClasses, "num_classes"));
    model_->labels_.reserve(num_classes);
    for (uint32_t i = 0; i < num_classes; ++i) {
      PYNQ_ASSIGN_OR_RETURN(std::string label,
                            r.ReadString(absl::StrCat("label ", i), 1, format::kMaxLabelBytes));
      model_->labels_.push_back(std::move(label));
    }
    if (format_version_ >= 2) PYNQ_RETURN_IF_ERROR(ParsePreprocessing(r));
    if (r.remaining() != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "META: %d bytes left over after the %s", r.remaining(),
          format_version_ >= 2 ? "preprocessing record" : "last label"));
    }
    return absl::OkStatus();
  }

  // The input preprocessing record of format v2 (MODEL_FORMAT.md "Input preprocessing").
  absl::Status ParsePreprocessing(SectionReader& r) {
    InputPreprocessing& p = model_->preprocessing_;
    PYNQ_ASSIGN_OR_RETURN(uint32_t method, r.Read<uint32_t>("preprocess"));
    PYNQ_ASSIGN_OR_RETURN(p.box_height, r.Read<uint32_t>("box_height"));
    PYNQ_ASSIGN_OR_RETURN(p.box_width, r.Read<uint32_t>("box_width"));
    PYNQ_ASSIGN_OR_RETURN(uint32_t placement, r.Read<uint32_t>("placement"));
    PYNQ_ASSIGN_OR_RETURN(uint32_t levels, r.Read<uint32_t>("levels"));
    PYNQ_ASSIGN_OR_RETURN(uint32_t foreground, r.Read<uint32_t>("foreground"));
    PYNQ_RETURN_IF_ERROR(CheckRange(method, 0, 1, "preprocess"));
    p.method = static_cast<PictureMethod>(method);
    if (p.method == PictureMethod::kNone) {
      if (p.box_height != 0 || p.box_width != 0 || placement != 0 || levels != 0 ||
          foreground != 0) {
        return absl::InvalidArgumentError(
            "META: preprocess is 0 (none), but box_height, box_width, placement, levels or "
            "foreground is not 0");
      }
      return absl::OkStatus();
    }
    const Shape& in = model_->input_shape_;
    if (in.c != 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "META: preprocess crop_fit makes 1-channel inputs, but input_channels is %d", in.c));
    }
    PYNQ_RETURN_IF_ERROR(CheckRange(p.box_height, 1, in.h, "box_height"));
    PYNQ_RETURN_IF_ERROR(CheckRange(p.box_width, 1, in.w, "box_width"));
    PYNQ_RETURN_IF_ERROR(CheckRange(placement, 0, 1, "placement"));
    PYNQ_RETURN_IF_ERROR(CheckRange(levels, 0, 1, "levels"));
    PYNQ_RETURN_IF_ERROR(CheckRange(foreground, 0, 1, "foreground"));
    p.placement = static_cast<Placement>(placement);
    p.levels = static_cast<Levels>(levels);
    p.foreground = static_cast<Foreground>(foreground);
    return absl::OkStatus();
  }

  absl::Status ParseProgram() {
    SectionReader r(program_, "PROGRAM");
    PYNQ_ASSIGN_OR_RETURN(uint32_t layer_count, r.Read<uint32_t>("layer_count"));
    if (layer_count < 1 || layer_count > engine::kMaxLayers) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer_count is %d, expected 1..%d", layer_count, engine::kMaxLayers));
    }
    for (int i = 0; i < 3; ++i) {
      PYNQ_ASSIGN_OR_RETURN(uint32_t reserved, r.Read<uint32_t>("reserved"));
      if (reserved != 0) return absl::InvalidArgumentError("PROGRAM: reserved words not zero");
    }
    const size_t expected = format::kProgramHeaderBytes + format::kLayerBytes * layer_count;
    if (program_.size() != expected) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: section is %d bytes, expected %d for %d layers", program_.size(), expected,
          layer_count));
    }
    Shape previous_out = model_->input_shape_;
    Op previous_op = Op::kInputBinarize;  // Not read for layer 0.
    for (uint32_t i = 0; i < layer_count; ++i) {
      PYNQ_ASSIGN_OR_RETURN(Layer layer, ReadLayer(r, i));
      PYNQ_RETURN_IF_ERROR(CheckLayer(layer, i, layer_count, previous_out, previous_op));
      previous_out = layer.out;
      previous_op = layer.op;
      model_->layers_.push_back(layer);
    }
    model_->program_.assign(program_.begin(), program_.end());
    return CheckBlobs();
  }

  absl::StatusOr<Layer> ReadLayer(SectionReader& r, uint32_t index) {
    Layer layer;
    PYNQ_ASSIGN_OR_RETURN(uint32_t op, r.Read<uint32_t>("op"));
    if (op < engine::kFirstOp || op > engine::kLastOp) {
      return absl::UnimplementedError(absl::StrFormat(
          "PROGRAM: layer %d has op %d, which engine ABI v%d does not define", index, op,
          format::kEngineAbiVersion));
    }
    layer.op = static_cast<Op>(op);
    PYNQ_ASSIGN_OR_RETURN(uint32_t flags, r.Read<uint32_t>("flags"));
    if (flags != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PROGRAM: layer %d has flags 0x%x, expected 0", index, flags));
    }
    for (Shape* s : {&layer.in, &layer.out}) {
      PYNQ_ASSIGN_OR_RETURN(s->c, r.Read<uint32_t>("c"));
      PYNQ_ASSIGN_OR_RETURN(s->h, r.Read<uint32_t>("h"));
      PYNQ_ASSIGN_OR_RETURN(s->w, r.Read<uint32_t>("w"));
    }
    PYNQ_ASSIGN_OR_RETURN(layer.weights_offset, r.Read<uint32_t>("weights_offset"));
    PYNQ_ASSIGN_OR_RETURN(layer.weights_bytes, r.Read<uint32_t>("weights_bytes"));
    PYNQ_ASSIGN_OR_RETURN(layer.params_offset, r.Read<uint32_t>("params_offset"));
    PYNQ_ASSIGN_OR_RETURN(layer.params_bytes, r.Read<uint32_t>("params_bytes"));
    for (int32_t& arg : layer.arg) {
      PYNQ_ASSIGN_OR_RETURN(arg, r.Read<int32_t>("arg"));
    }
    PYNQ_ASSIGN_OR_RETURN(uint32_t reserved, r.Read<uint32_t>("reserved"));
    if (reserved != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("PROGRAM: layer %d reserved word is %d, expected 0", index, reserved));
    }
    return layer;
  }

  absl::Status CheckLayer(const Layer& layer, uint32_t index, uint32_t count,
                          const Shape& previous_out, Op previous_op) {
    const std::string_view op = engine::OpName(layer.op);
    if (!(layer.in == previous_out)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer %d (%s) input shape %s does not match the %s %s", index, op,
          ShapeString(layer.in), index == 0 ? "model input" : "previous layer's output",
          ShapeString(previous_out)));
    }
    const bool is_input_op = InputKind(layer.op) == TensorKind::kPixels;
    if ((index == 0) != is_input_op) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer %d is %s; an input op must be layer 0 and only layer 0", index, op));
    }
    const bool is_last = index + 1 == count;
    if (is_last != (OutputKind(layer.op) == TensorKind::kScores)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer %d is %s; the last layer, and only it, must produce scores", index,
          op));
    }
    // No op converts between bits and int8: a binarized program stays binarized after its input
    // op, an int8 program stays int8.
    if (index > 0 && InputKind(layer.op) != OutputKind(previous_op)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: layer %d (%s) takes %s, but layer %d (%s) produces %s", index, op,
          TensorKindName(InputKind(layer.op)), index - 1, engine::OpName(previous_op),
          TensorKindName(OutputKind(previous_op))));
    }
    PYNQ_RETURN_IF_ERROR(CheckLayerDescriptor(layer, index));
    if (is_last && layer.out.c != model_->num_classes()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "PROGRAM: the last layer produces %d scores, but META has %d classes", layer.out.c,
          model_->num_classes()));
    }
    return absl::OkStatus();
  }

  // Every blob lies inside WEIGHTS, aligned, without overlap; every byte no blob covers is zero.
  absl::Status CheckBlobs() {
    struct Blob {
      uint64_t offset;
      uint64_t bytes;
      size_t layer;
      std::string_view what;
    };
    std::vector<Blob> blobs;
    for (size_t i = 0; i < model_->layers_.size(); ++i) {
      const Layer& l = model_->layers_[i];
      if (l.weights_bytes > 0) blobs.push_back({l.weights_offset, l.weights_bytes, i, "weights"});
      if (l.params_bytes > 0) blobs.push_back({l.params_offset, l.params_bytes, i, "params"});
      if ((l.weights_bytes == 0 && l.weights_offset != 0) ||
          (l.params_bytes == 0 && l.params_offset != 0)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("PROGRAM: layer %d has an offset for an empty blob", i));
      }
    }
    std::sort(blobs.begin(), blobs.end(),
              [](const Blob& a, const Blob& b) { return a.offset < b.offset; });
    uint64_t covered_to = 0;
    for (const Blob& b : blobs) {
      if (b.offset % format::kWeightsAlignment != 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "PROGRAM: layer %d %s offset %d is not a multiple of %d", b.layer, b.what, b.offset,
            format::kWeightsAlignment));
      }
      if (b.offset + b.bytes > weights_.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "PROGRAM: layer %d %s [%d, %d) lies outside the %d-byte WEIGHTS section", b.layer,
            b.what, b.offset, b.offset + b.bytes, weights_.size()));
      }
      if (b.offset < covered_to) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "PROGRAM: layer %d %s at %d overlaps another blob ending at %d", b.layer, b.what,
            b.offset, covered_to));
      }
      if (!AllZero(weights_.subspan(covered_to, b.offset - covered_to))) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "WEIGHTS: bytes %d..%d belong to no layer and are not zero", covered_to,
            b.offset - 1));
      }
      covered_to = b.offset + b.bytes;
    }
    if (!AllZero(weights_.subspan(covered_to))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "WEIGHTS: bytes from %d to the end belong to no layer and are not zero", covered_to));
    }
    return absl::OkStatus();
  }

  absl::Status CopyWeights() {
    // Round up so a zero-byte WEIGHTS section still gets a valid aligned allocation.
    const size_t allocation =
        std::max<size_t>(format::kWeightsAlignment, weights_.size());
    auto* memory = static_cast<uint8_t*>(std::aligned_alloc(format::kWeightsAlignment, allocation));
    if (memory == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("cannot allocate %d bytes for the model's weights", allocation));
    }
    std::memcpy(memory, weights_.data(), weights_.size());
    model_->weights_.reset(memory);
    model_->weights_bytes_ = weights_.size();
    for (size_t i = 0; i < model_->layers_.size(); ++i) {
      PYNQ_RETURN_IF_ERROR(CheckLayerBlobs(*model_, model_->layers_[i], i));
    }
    return absl::OkStatus();
  }

  absl::Span<const uint8_t> file_;
  uint16_t format_version_ = 0;
  absl::Span<const uint8_t> meta_;
  absl::Span<const uint8_t> program_;
  absl::Span<const uint8_t> weights_;
  std::unique_ptr<Model> model_;
};

std::string PreprocessingSummary(const InputPreprocessing& p) {
  if (p.method == PictureMethod::kNone) return "none";
  return absl::StrFormat("crop_fit box=%dx%d %s %s %s", p.box_width, p.box_height,
                         p.placement == Placement::kCentreOfMass ? "centre_of_mass" : "box_centre",
                         p.levels == Levels::kStretch ? "stretch" : "keep",
                         p.foreground == Foreground::kLightOnDark ? "light_on_dark"
                                                                  : "dark_on_light");
}

void Model::AlignedFree::operator()(uint8_t* p) const { std::free(p); }

absl::StatusOr<std::shared_ptr<const Model>> Model::FromBytes(absl::Span<const uint8_t> file) {
  return ModelParser(file).Parse();
}

absl::StatusOr<std::shared_ptr<const Model>> Model::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  absl::StatusOr<std::shared_ptr<const Model>> model = FromBytes(bytes);
  if (!model.ok()) {
    return Annotate(model.status(), path);
  }
  return model;
}

absl::Span<const uint64_t> Model::BitRows(const Layer& layer) const {
  return {reinterpret_cast<const uint64_t*>(weights_.get() + layer.weights_offset),
          layer.weights_bytes / sizeof(uint64_t)};
}

absl::Span<const int32_t> Model::Params(const Layer& layer) const {
  return {reinterpret_cast<const int32_t*>(weights_.get() + layer.params_offset),
          layer.params_bytes / sizeof(int32_t)};
}

absl::Span<const int8_t> Model::Int8Weights(const Layer& layer) const {
  return {reinterpret_cast<const int8_t*>(weights_.get() + layer.weights_offset),
          layer.weights_bytes};
}

Model::Requantization Model::RequantParams(const Layer& layer) const {
  const absl::Span<const int32_t> params = Params(layer);
  const size_t n = layer.out.c;
  return {.bias = params.subspan(0, n),
          .multiplier = params.subspan(n, n),
          .shift = params.subspan(2 * n, n)};
}

std::vector<std::string> Model::LayerSummary() const {
  std::vector<std::string> lines;
  for (const Layer& l : layers_) {
    std::string line = absl::StrFormat("%s %d->%d", engine::OpName(l.op), l.in.elements(),
                                       l.out.elements());
    switch (l.op) {
      case Op::kInputBinarize:
        absl::StrAppend(&line, " (pixel >= ", l.arg[0], ")");
        break;
      case Op::kInputQuantize:
        absl::StrAppend(&line, " (pixel * ", l.arg[0], " / 2^", l.arg[1], ")");
        break;
      case Op::kInt8Dense:
        if (l.arg[1] == 1) absl::StrAppend(&line, " (relu)");
        break;
      case Op::kInt8Conv:
        absl::StrAppend(&line, absl::StrFormat(" (%dx%d -> %dx%dx%d%s)", l.arg[0], l.arg[0],
                                               l.out.c, l.out.h, l.out.w,
                                               l.arg[1] == 1 ? ", relu" : ""));
        break;
      case Op::kMaxPool:
        absl::StrAppend(&line, absl::StrFormat(" (%dx%d -> %dx%dx%d)", l.arg[0], l.arg[0],
                                               l.out.c, l.out.h, l.out.w));
        break;
      case Op::kBnnDense:
      case Op::kBnnDenseScores:
      case Op::kInt8DenseScores:
        break;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

size_t Model::max_features() const {
  size_t widest = 0;
  for (const Layer& l : layers_) {
    widest = std::max({widest, l.in.elements(), l.out.elements()});
  }
  return widest;
}

}  // namespace pynq::accel
