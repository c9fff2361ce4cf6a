#include "accel/model/model_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>

#include "zlib.h"

namespace pynq::accel {

namespace {

template <typename T>
void PutLe(std::vector<uint8_t>& out, T value) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <typename T>
void StoreLe(std::vector<uint8_t>& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

void PutString(std::vector<uint8_t>& out, const std::string& s) {
  PutLe<uint16_t>(out, static_cast<uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void PadTo(std::vector<uint8_t>& out, size_t alignment) {
  out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
}

// Appends `blob` aligned to the WEIGHTS boundary; returns its offset from `weights_start`.
uint32_t PlaceBlob(std::vector<uint8_t>& weights, const std::vector<uint8_t>& blob) {
  if (blob.empty()) return 0;
  PadTo(weights, format::kWeightsAlignment);
  const auto offset = static_cast<uint32_t>(weights.size());
  weights.insert(weights.end(), blob.begin(), blob.end());
  return offset;
}

// A spec with its name, input and labels "0", "1", ..., and no layers yet.
ModelSpec SpecWithoutLayers(std::string name, Shape input, uint32_t num_classes) {
  ModelSpec spec{.name = std::move(name), .input = input};
  for (uint32_t i = 0; i < num_classes; ++i) spec.labels.push_back(std::to_string(i));
  return spec;
}

std::vector<int8_t> RandomInt8Values(std::mt19937_64& rng, size_t count) {
  std::uniform_int_distribution<int> value(-128, 127);
  std::vector<int8_t> values(count);
  for (int8_t& v : values) v = static_cast<int8_t>(value(rng));
  return values;
}

// Params of an int8 layer whose outputs each sum `taps` products. Inputs after the first layer
// are mostly within +-64 (what the params below aim for) and weights uniform int8 (standard
// deviation ~74), so an accumulator spreads over ~74 * 64 * sqrt(taps); each channel maps that
// spread to about +-64, with a random factor of 1/2..2. Channels 1, 2 and 3 of every 16 take the
// format's extremes instead.
std::vector<uint8_t> RandomRequantParams(std::mt19937_64& rng, size_t n_out, size_t taps) {
  const double spread = 74.0 * 64.0 * std::sqrt(static_cast<double>(taps));
  std::uniform_real_distribution<double> bias(-spread, spread);
  std::uniform_int_distribution<int32_t> shift(16, 40);
  std::uniform_real_distribution<double> jitter(0.5, 2.0);
  constexpr int32_t kMaxMultiplier = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> biases(n_out), multipliers(n_out), shifts(n_out);
  for (size_t o = 0; o < n_out; ++o) {
    biases[o] = static_cast<int32_t>(bias(rng));
    shifts[o] = shift(rng);
    const double m = std::round(64.0 / spread * std::ldexp(jitter(rng), shifts[o]));
    multipliers[o] = static_cast<int32_t>(std::clamp(m, 1.0, double{kMaxMultiplier}));
    switch (o % 16) {
      case 1:  // No scaling: the output is the accumulator, clamped.
        multipliers[o] = 1;
        shifts[o] = 0;
        break;
      case 2:  // The largest multiplier and shift.
        multipliers[o] = kMaxMultiplier;
        shifts[o] = engine::kMaxRequantShift;
        break;
      case 3:  // The largest bias, either sign.
        biases[o] = (rng() & 1) != 0 ? engine::kMaxParamMagnitude : -engine::kMaxParamMagnitude;
        break;
      default:
        break;
    }
  }
  return RequantParamsBytes(biases, multipliers, shifts);
}

}  // namespace

std::vector<uint8_t> SerializeModel(const ModelSpec& spec) {
  std::vector<uint8_t> meta;
  PutString(meta, spec.name);
  PutString(meta, spec.version);
  PutString(meta, spec.description);
  PutLe<uint32_t>(meta, spec.input.c);
  PutLe<uint32_t>(meta, spec.input.h);
  PutLe<uint32_t>(meta, spec.input.w);
  PutLe<uint32_t>(meta, static_cast<uint32_t>(spec.labels.size()));
  for (const std::string& label : spec.labels) PutString(meta, label);
  if (spec.format_version >= 2) {
    const InputPreprocessing& p = spec.preprocessing;
    for (uint32_t field :
         {static_cast<uint32_t>(p.method), p.box_height, p.box_width,
          static_cast<uint32_t>(p.placement), static_cast<uint32_t>(p.levels),
          static_cast<uint32_t>(p.foreground)}) {
      PutLe<uint32_t>(meta, field);
    }
  }

  std::vector<uint8_t> weights;
  std::vector<uint8_t> program;
  PutLe<uint32_t>(program, static_cast<uint32_t>(spec.layers.size()));
  for (int i = 0; i < 3; ++i) PutLe<uint32_t>(program, 0);
  for (const LayerSpec& layer : spec.layers) {
    const uint32_t weights_offset = PlaceBlob(weights, layer.weights);
    const uint32_t params_offset = PlaceBlob(weights, layer.params);
    PutLe<uint32_t>(program, static_cast<uint32_t>(layer.op));
    PutLe<uint32_t>(program, 0);
    for (const Shape& s : {layer.in, layer.out}) {
      PutLe<uint32_t>(program, s.c);
      PutLe<uint32_t>(program, s.h);
      PutLe<uint32_t>(program, s.w);
    }
    PutLe<uint32_t>(program, weights_offset);
    PutLe<uint32_t>(program, static_cast<uint32_t>(layer.weights.size()));
    PutLe<uint32_t>(program, params_offset);
    PutLe<uint32_t>(program, static_cast<uint32_t>(layer.params.size()));
    for (int32_t arg : layer.arg) PutLe<int32_t>(program, arg);
    PutLe<uint32_t>(program, 0);
  }
  PadTo(weights, format::kWeightsAlignment);

  std::vector<uint8_t> file(format::kHeaderBytes, 0);
  const auto meta_offset = static_cast<uint32_t>(file.size());
  file.insert(file.end(), meta.begin(), meta.end());
  const auto program_offset = static_cast<uint32_t>(file.size());
  file.insert(file.end(), program.begin(), program.end());
  PadTo(file, format::kWeightsAlignment);
  const auto weights_offset = static_cast<uint32_t>(file.size());
  file.insert(file.end(), weights.begin(), weights.end());
  file.resize(file.size() + format::kChecksumBytes, 0);

  std::memcpy(file.data(), format::kMagic.data(), format::kMagic.size());
  StoreLe<uint16_t>(file, format::kFormatVersionOffset, spec.format_version);
  StoreLe<uint16_t>(file, format::kAbiVersionOffset, format::kEngineAbiVersion);
  StoreLe<uint32_t>(file, format::kHeaderBytesOffset, format::kHeaderBytes);
  StoreLe<uint32_t>(file, format::kFileBytesOffset, static_cast<uint32_t>(file.size()));
  const uint32_t sections[] = {meta_offset,
                               static_cast<uint32_t>(meta.size()),
                               program_offset,
                               static_cast<uint32_t>(program.size()),
                               weights_offset,
                               static_cast<uint32_t>(weights.size())};
  for (size_t i = 0; i < std::size(sections); ++i) {
    StoreLe<uint32_t>(file, format::kMetaOffsetOffset + 4 * i, sections[i]);
  }
  RewriteChecksum(file);
  return file;
}

void RewriteChecksum(std::vector<uint8_t>& file) {
  const size_t body = file.size() - format::kChecksumBytes;
  StoreLe<uint32_t>(file, body, static_cast<uint32_t>(crc32(0L, file.data(), body)));
}

std::vector<uint8_t> PackBitRows(const std::vector<std::vector<bool>>& rows, size_t n_in) {
  const size_t words = engine::WordsForBits(n_in);
  std::vector<uint64_t> packed(rows.size() * words, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t j = 0; j < n_in; ++j) {
      if (rows[r][j]) packed[r * words + j / 64] |= uint64_t{1} << (j % 64);
    }
  }
  std::vector<uint8_t> bytes(packed.size() * sizeof(uint64_t));
  std::memcpy(bytes.data(), packed.data(), bytes.size());
  return bytes;
}

std::vector<uint8_t> Int32Bytes(const std::vector<int32_t>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(int32_t));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

ModelSpec RandomBnnSpec(const RandomBnnOptions& options) {
  std::mt19937_64 rng(options.seed);
  ModelSpec spec = SpecWithoutLayers("random-bnn", options.input, options.num_classes);

  const auto pixels = static_cast<uint32_t>(options.input.elements());
  spec.layers.push_back({.op = engine::Op::kInputBinarize,
                         .in = options.input,
                         .out = {pixels, 1, 1},
                         .arg = {options.binarize_threshold, 0, 0}});

  std::vector<uint32_t> widths = options.hidden;
  widths.push_back(options.num_classes);
  uint32_t n_in = pixels;
  for (size_t i = 0; i < widths.size(); ++i) {
    const uint32_t n_out = widths[i];
    const bool last = i + 1 == widths.size();
    std::vector<std::vector<bool>> rows(n_out, std::vector<bool>(n_in));
    for (auto& row : rows) {
      for (size_t j = 0; j < n_in; ++j) row[j] = (rng() & 1) != 0;
    }
    // A ±1 dot product of random signs is centred on 0 with spread ~sqrt(n_in): thresholds and
    // biases drawn from that range make every unit fire for some inputs and not for others.
    const int spread = 1 + static_cast<int>(std::sqrt(static_cast<double>(n_in)));
    std::uniform_int_distribution<int32_t> param(-spread, spread);
    std::vector<int32_t> params(n_out);
    for (int32_t& p : params) p = param(rng);
    spec.layers.push_back({.op = last ? engine::Op::kBnnDenseScores : engine::Op::kBnnDense,
                           .in = {n_in, 1, 1},
                           .out = {n_out, 1, 1},
                           .weights = PackBitRows(rows, n_in),
                           .params = Int32Bytes(params)});
    n_in = n_out;
  }
  return spec;
}


std::vector<uint8_t> Int8Bytes(const std::vector<int8_t>& values) {
  std::vector<uint8_t> bytes(values.size());
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<uint8_t> RequantParamsBytes(const std::vector<int32_t>& bias,
                                        const std::vector<int32_t>& multiplier,
                                        const std::vector<int32_t>& shift) {
  std::vector<int32_t> all = bias;
  all.insert(all.end(), multiplier.begin(), multiplier.end());
  all.insert(all.end(), shift.begin(), shift.end());
  return Int32Bytes(all);
}

ModelSpec RandomInt8Spec(const RandomInt8Options& options) {
  std::mt19937_64 rng(options.seed);
  ModelSpec spec = SpecWithoutLayers("random-int8", options.input, options.num_classes);

  // q = pixel * m / 2^s with m / 2^s in [1/4, 1]: pixels above ~127..254 saturate at 127.
  const int32_t input_shift = std::uniform_int_distribution<int32_t>(8, 16)(rng);
  const int32_t input_multiplier = std::uniform_int_distribution<int32_t>(
      1 << (input_shift - 2), 1 << input_shift)(rng);
  spec.layers.push_back({.op = engine::Op::kInputQuantize,
                         .in = options.input,
                         .out = options.input,
                         .arg = {input_multiplier, input_shift, 0}});

  Shape shape = options.input;
  for (const Int8StageSpec& stage : options.stages) {
    LayerSpec layer{.op = stage.op, .in = shape};
    switch (stage.op) {
      case engine::Op::kInt8Dense: {
        const size_t n_in = shape.elements();
        layer.out = {stage.size, 1, 1};
        layer.weights = Int8Bytes(RandomInt8Values(rng, stage.size * n_in));
        layer.params = RandomRequantParams(rng, stage.size, n_in);
        layer.arg = {0, stage.relu ? 1 : 0, 0};
        break;
      }
      case engine::Op::kInt8Conv: {
        const auto k = static_cast<uint32_t>(stage.side);
        const size_t taps = size_t{shape.c} * k * k;
        layer.out = {stage.size, shape.h - k + 1, shape.w - k + 1};
        layer.weights = Int8Bytes(RandomInt8Values(rng, stage.size * taps));
        layer.params = RandomRequantParams(rng, stage.size, taps);
        layer.arg = {stage.side, stage.relu ? 1 : 0, 0};
        break;
      }
      default: {  // kMaxPool
        const auto p = static_cast<uint32_t>(stage.side);
        layer.out = {shape.c, shape.h / p, shape.w / p};
        layer.arg = {stage.side, 0, 0};
        break;
      }
    }
    shape = layer.out;
    spec.layers.push_back(std::move(layer));
  }

  const size_t n_in = shape.elements();
  std::uniform_int_distribution<int32_t> bias(-100000, 100000);
  std::vector<int32_t> biases(options.num_classes);
  for (int32_t& b : biases) b = bias(rng);
  biases[0] = engine::kMaxParamMagnitude;  // The extreme the format allows.
  spec.layers.push_back({.op = engine::Op::kInt8DenseScores,
                         .in = shape,
                         .out = {options.num_classes, 1, 1},
                         .weights = Int8Bytes(RandomInt8Values(rng, options.num_classes * n_in)),
                         .params = Int32Bytes(biases)});
  return spec;
}

}  // namespace pynq::accel
