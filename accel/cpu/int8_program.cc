#include "accel/cpu/int8_program.h"

#include <algorithm>
#include <utility>

#include "overlays/nn_engine/abi/arith.h"

namespace pynq::accel::cpu {

using engine::Op;

namespace {

size_t RoundUp(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Rows of the GEMM's int32 results: every padded row, and whole vectors for requantize().
size_t AccStride(const Int8Matrix& w) { return RoundUp(w.padded_rows, kRequantLanes); }

ConvShape ConvShapeOf(const Layer& layer) {
  return {.c = layer.in.c,
          .h = layer.in.h,
          .w = layer.in.w,
          .k = static_cast<size_t>(layer.arg[0])};
}

}  // namespace

Int8Program::Int8Program(const Model& model, const KernelSet& kernels, size_t tile)
    : model_(model), kernels_(kernels), tile_(tile) {
  const Int8Layout& layout = kernels.int8_layout;
  size_t patch_bytes = 0;
  size_t acc_elements = 0;
  size_t widest_cols = 0;
  bool nonnegative = false;
  for (const Layer& layer : model.layers()) {
    Step step;
    step.nonnegative_input = nonnegative;
    switch (layer.op) {
      case Op::kInputQuantize:
        nonnegative = true;  // QuantizePixel() is never negative.
        // A multi-channel input is quantized into the patch scratch first (see Quantize()).
        if (layer.in.c > 1) patch_bytes = std::max(patch_bytes, layer.in.elements());
        break;
      case Op::kInt8Dense:
      case Op::kInt8DenseScores: {
        const std::vector<uint32_t> source = HwcSource(layer.in.c, layer.in.h, layer.in.w);
        step.weights = PackInt8Matrix(model.Int8Weights(layer), layer.out.c,
                                      layer.in.elements(), source, layout);
        acc_elements = std::max(acc_elements, tile * AccStride(step.weights));
        widest_cols = std::max(widest_cols, step.weights.padded_cols);
        if (layer.op == Op::kInt8Dense) {
          step.requant = MakeRequantTable(model.RequantParams(layer),
                                          layer.arg[1] == 1 ? engine::kReluLo : engine::kNoReluLo);
          nonnegative = step.requant.lo == engine::kReluLo;
        }
        break;
      }
      case Op::kInt8Conv: {
        step.conv = ConvShapeOf(layer);
        const std::vector<uint32_t> source = ConvTapSource(step.conv);
        step.weights = PackInt8Matrix(model.Int8Weights(layer), layer.out.c, step.conv.taps(),
                                      source, layout);
        step.requant = MakeRequantTable(model.RequantParams(layer),
                                        layer.arg[1] == 1 ? engine::kReluLo : engine::kNoReluLo);
        nonnegative = step.requant.lo == engine::kReluLo;
        patch_bytes =
            std::max(patch_bytes, step.conv.out_pixels() * step.weights.padded_cols);
        acc_elements =
            std::max(acc_elements, step.conv.out_pixels() * AccStride(step.weights));
        break;
      }
      case Op::kMaxPool:
        break;  // The maximum of non-negative values is non-negative, and of others unknown.
      case Op::kInputBinarize:
      case Op::kBnnDense:
      case Op::kBnnDenseScores:
        break;  // Binarized programs run in BnnProgram; the loader never mixes the two.
    }
    steps_.push_back(std::move(step));
  }
  // Room in each row for the widest tensor, the GEMM reading up to its padded columns, and the
  // bytes requantize(), Im2col() and MaxPoolHwc() may write or read past a tensor's end.
  stride_ = RoundUp(std::max(model.max_features(), widest_cols) +
                        std::max({kRequantizeOvershoot, kIm2colOvershoot, kMaxPoolOvershoot}),
                    64);
  act_a_.resize(tile * stride_);
  act_b_.resize(tile * stride_);
  patches_.resize(patch_bytes + kIm2colOvershoot);
  acc_.resize(acc_elements);
}

void Int8Program::Quantize(const Layer& layer, const uint8_t* images, size_t count,
                           int8_t* out) {
  const size_t pixels = layer.in.elements();
  const size_t c = layer.in.c;
  const size_t plane = layer.in.h * layer.in.w;
  for (size_t b = 0; b < count; ++b) {
    int8_t* row = out + b * stride_;
    if (c == 1) {
      kernels_.quantize_input(images + b * pixels, pixels, layer.arg[0], layer.arg[1], row);
      continue;
    }
    // A multi-channel input: quantized plane by plane into the patch scratch (free until the
    // first convolution), then interleaved channel-last.
    int8_t* chw = patches_.data();
    kernels_.quantize_input(images + b * pixels, pixels, layer.arg[0], layer.arg[1], chw);
    for (size_t ch = 0; ch < c; ++ch) {
      for (size_t i = 0; i < plane; ++i) row[i * c + ch] = chw[ch * plane + i];
    }
  }
}

void Int8Program::Conv(const Layer& layer, const Step& step, const int8_t* in, size_t count,
                       int8_t* out) {
  const Int8Matrix& w = step.weights;
  const size_t pixels = step.conv.out_pixels();
  const size_t acc_stride = AccStride(w);
  for (size_t b = 0; b < count; ++b) {
    Im2col(in + b * stride_, step.conv, patches_.data(), w.padded_cols);
    kernels_.int8_gemm(w, patches_.data(), w.padded_cols, pixels, step.nonnegative_input,
                       acc_.data(), acc_stride);
    // Channel-last output: pixel p's out.c channels at p * out.c.
    kernels_.requantize(acc_.data(), acc_stride, pixels, step.requant, out + b * stride_,
                        layer.out.c);
  }
}

void Int8Program::Run(const uint8_t* images, size_t count, int32_t* scores) {
  // The loader guarantees the program's shape: INPUT_QUANTIZE, int8 layers, INT8_DENSE_SCORES.
  int8_t* in = act_a_.data();
  int8_t* out = act_b_.data();
  const std::vector<Layer>& layers = model_.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& layer = layers[i];
    const Step& step = steps_[i];
    switch (layer.op) {
      case Op::kInputQuantize:
        Quantize(layer, images, count, in);
        break;
      case Op::kInt8Dense: {
        const size_t acc_stride = AccStride(step.weights);
        kernels_.int8_gemm(step.weights, in, stride_, count, step.nonnegative_input, acc_.data(),
                           acc_stride);
        kernels_.requantize(acc_.data(), acc_stride, count, step.requant, out, stride_);
        std::swap(in, out);
        break;
      }
      case Op::kInt8Conv:
        Conv(layer, step, in, count, out);
        std::swap(in, out);
        break;
      case Op::kMaxPool:
        for (size_t b = 0; b < count; ++b) {
          MaxPoolHwc(in + b * stride_, layer.in.c, layer.in.h, layer.in.w,
                     static_cast<size_t>(layer.arg[0]), out + b * stride_);
        }
        std::swap(in, out);
        break;
      case Op::kInt8DenseScores: {
        const size_t acc_stride = AccStride(step.weights);
        kernels_.int8_gemm(step.weights, in, stride_, count, step.nonnegative_input, acc_.data(),
                           acc_stride);
        const int32_t* bias = model_.Params(layer).data();
        const size_t classes = layer.out.c;
        for (size_t b = 0; b < count; ++b) {
          for (size_t r = 0; r < classes; ++r) {
            scores[b * classes + r] = acc_[b * acc_stride + r] + bias[r];
          }
        }
        break;
      }
      case Op::kInputBinarize:
      case Op::kBnnDense:
      case Op::kBnnDenseScores:
        break;  // Binarized programs run in BnnProgram.
    }
  }
}

}  // namespace pynq::accel::cpu
