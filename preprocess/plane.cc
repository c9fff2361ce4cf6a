#include "preprocess/plane.h"

#include <algorithm>

namespace pynq::preprocess {
namespace {

// How the input pixels of one axis (n_in of them) spread over n_out output pixels: output i
// covers input [i * n_in / n_out, (i + 1) * n_in / n_out), and takes each input pixel with the
// length it overlaps, divided by the length of the interval (so weights sum to 1).
struct AxisWeights {
  std::vector<uint32_t> first;       // per output pixel, its first input pixel
  std::vector<uint32_t> count;       // per output pixel, how many input pixels it takes
  std::vector<uint32_t> offset;      // per output pixel, where its weights start in `weights`
  std::vector<float> weights;
};

AxisWeights WeightsFor(uint32_t n_in, uint32_t n_out) {
  AxisWeights a;
  const double scale = static_cast<double>(n_in) / n_out;
  for (uint32_t i = 0; i < n_out; ++i) {
    const double lo = i * scale;
    const double hi = (i + 1) * scale;
    const auto first = static_cast<uint32_t>(lo);
    const auto last = std::min<uint32_t>(n_in - 1, static_cast<uint32_t>(hi - 1e-9));
    a.first.push_back(first);
    a.count.push_back(last - first + 1);
    a.offset.push_back(static_cast<uint32_t>(a.weights.size()));
    for (uint32_t j = first; j <= last; ++j) {
      const double overlap = std::min<double>(hi, j + 1) - std::max<double>(lo, j);
      a.weights.push_back(static_cast<float>(overlap / scale));
    }
  }
  return a;
}

}  // namespace

Plane Reduce(const GrayImage& image, uint32_t factor) {
  const uint32_t w = (image.width + factor - 1) / factor;
  const uint32_t h = (image.height + factor - 1) / factor;
  Plane out(w, h);
  std::vector<uint32_t> counts(size_t{w} * h, 0);
  for (uint32_t y = 0; y < image.height; ++y) {
    const uint8_t* row = image.pixels.data() + size_t{y} * image.width;
    float* out_row = out.values.data() + size_t{y / factor} * w;
    uint32_t* count_row = counts.data() + size_t{y / factor} * w;
    for (uint32_t x = 0; x < image.width; ++x) {
      out_row[x / factor] += row[x];
      ++count_row[x / factor];
    }
  }
  for (size_t i = 0; i < out.values.size(); ++i) out.values[i] /= static_cast<float>(counts[i]);
  return out;
}

Plane ResampleArea(const Plane& in, uint32_t width, uint32_t height) {
  const AxisWeights across = WeightsFor(in.width, width);
  const AxisWeights down = WeightsFor(in.height, height);
  Plane rows(width, in.height);  // horizontal pass
  for (uint32_t y = 0; y < in.height; ++y) {
    for (uint32_t i = 0; i < width; ++i) {
      float sum = 0;
      const float* w = across.weights.data() + across.offset[i];
      for (uint32_t k = 0; k < across.count[i]; ++k) sum += w[k] * in.at(across.first[i] + k, y);
      rows.at(i, y) = sum;
    }
  }
  Plane out(width, height);  // vertical pass
  for (uint32_t j = 0; j < height; ++j) {
    const float* w = down.weights.data() + down.offset[j];
    for (uint32_t k = 0; k < down.count[j]; ++k) {
      const float* src = rows.values.data() + size_t{down.first[j] + k} * width;
      float* dst = out.values.data() + size_t{j} * width;
      for (uint32_t i = 0; i < width; ++i) dst[i] += w[k] * src[i];
    }
  }
  return out;
}

}  // namespace pynq::preprocess
