#include "accel/model_builder.h"

#include <cmath>
#include <cstring>
#include <random>

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
  StoreLe<uint16_t>(file, format::kFormatVersionOffset, format::kFormatVersion);
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
  const size_t words = format::WordsForBits(n_in);
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
  ModelSpec spec;
  spec.name = "random-bnn";
  spec.input = options.input;
  for (uint32_t i = 0; i < options.num_classes; ++i) spec.labels.push_back(std::to_string(i));

  const auto pixels = static_cast<uint32_t>(options.input.elements());
  spec.layers.push_back({.op = format::Op::kInputBinarize,
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
    spec.layers.push_back({.op = last ? format::Op::kBnnDenseScores : format::Op::kBnnDense,
                           .in = {n_in, 1, 1},
                           .out = {n_out, 1, 1},
                           .weights = PackBitRows(rows, n_in),
                           .params = Int32Bytes(params)});
    n_in = n_out;
  }
  return spec;
}

}  // namespace pynq::accel
