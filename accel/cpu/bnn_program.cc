#include "accel/cpu/bnn_program.h"

#include <algorithm>
#include <utility>

namespace pynq::accel::cpu {

using engine::Op;

BnnProgram::BnnProgram(const Model& model, const KernelSet& kernels, size_t tile)
    : model_(model), kernels_(kernels), tile_(tile) {
  size_t widest_rows = 0;
  for (const Layer& layer : model.layers()) {
    std::vector<int32_t> max_differing;
    if (layer.op == Op::kBnnDense || layer.op == Op::kBnnDenseScores) {
      weights_.push_back(PackBitMatrix(model.BitRows(layer), layer.out.c,
                                       engine::WordsForBits(layer.in.c), kernels.bnn_row_block));
      widest_rows = std::max(widest_rows, weights_.back().padded_rows);
    } else {
      weights_.emplace_back();
    }
    if (layer.op == Op::kBnnDense) {
      const absl::Span<const int32_t> thresholds = model.Params(layer);
      const auto n_in = static_cast<int32_t>(layer.in.c);
      max_differing.assign(engine::WordsForBits(layer.out.c) * engine::kBitsPerWord, -1);
      // >> is the floor division (|n_in - threshold| < 2^25).
      for (size_t r = 0; r < layer.out.c; ++r) max_differing[r] = (n_in - thresholds[r]) >> 1;
    }
    max_differing_.push_back(std::move(max_differing));
  }
  const size_t words = engine::WordsForBits(model.max_features());
  bits_a_.resize(tile * words);
  bits_b_.resize(tile * words);
  counts_stride_ = (widest_rows + engine::kBitsPerWord - 1) / engine::kBitsPerWord *
                   engine::kBitsPerWord;
  counts_.assign(tile * counts_stride_, 0);
}

void BnnProgram::Run(const uint8_t* images, size_t count, int32_t* scores) {
  // The loader guarantees the program's shape: INPUT_BINARIZE, BNN_DENSE..., BNN_DENSE_SCORES.
  uint64_t* in = bits_a_.data();
  uint64_t* out = bits_b_.data();
  const std::vector<Layer>& layers = model_.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& layer = layers[i];
    switch (layer.op) {
      case Op::kInputBinarize: {
        const size_t pixels = layer.in.elements();
        const size_t words = engine::WordsForBits(pixels);
        for (size_t b = 0; b < count; ++b) {
          kernels_.binarize(images + b * pixels, pixels, static_cast<uint8_t>(layer.arg[0]),
                            in + b * words);
        }
        break;
      }
      case Op::kBnnDense: {
        kernels_.xor_popcount(weights_[i], in, count, counts_.data(), counts_stride_);
        const size_t out_words = engine::WordsForBits(layer.out.c);
        for (size_t b = 0; b < count; ++b) {
          kernels_.sign_bits(counts_.data() + b * counts_stride_, max_differing_[i].data(),
                             layer.out.c, out + b * out_words);
        }
        std::swap(in, out);
        break;
      }
      case Op::kBnnDenseScores: {
        kernels_.xor_popcount(weights_[i], in, count, counts_.data(), counts_stride_);
        const auto n_in = static_cast<int32_t>(layer.in.c);
        const int32_t* bias = model_.Params(layer).data();
        const size_t classes = layer.out.c;
        for (size_t b = 0; b < count; ++b) {
          const int32_t* differing = counts_.data() + b * counts_stride_;
          for (size_t r = 0; r < classes; ++r) {
            scores[b * classes + r] = n_in - 2 * differing[r] + bias[r];
          }
        }
        break;
      }
      case Op::kInputQuantize:
      case Op::kInt8Dense:
      case Op::kInt8DenseScores:
      case Op::kInt8Conv:
      case Op::kMaxPool:
        break;  // Int8 programs run in Int8Program; the loader never mixes the two.
    }
  }
}

}  // namespace pynq::accel::cpu
