// A float image (one plane of gray levels) and the two resamplings preprocessing needs, both by
// area averaging: every output pixel is the mean of the input area it covers, with input pixels
// cut by the output's edges counted by the fraction covered. That is MNIST's anti-aliased
// scaling, and it never aliases when reducing.
//
//   Plane working = Reduce(picture, 3);           // 1/3 of the size, each pixel a 3x3 mean
//   Plane box = ResampleArea(crop, 20, 14);        // any size to 20x14
//
// Pure functions; safe from any thread.
#ifndef PYNQ_PREPROCESS_PLANE_H_
#define PYNQ_PREPROCESS_PLANE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "preprocess/gray_image.h"

namespace pynq::preprocess {

// Row-major; invariant: values.size() == width * height.
struct Plane {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<float> values;

  Plane() = default;
  Plane(uint32_t w, uint32_t h) : width(w), height(h), values(size_t{w} * h, 0.0f) {}
  float& at(uint32_t x, uint32_t y) { return values[size_t{y} * width + x]; }
  float at(uint32_t x, uint32_t y) const { return values[size_t{y} * width + x]; }
};

// `image` reduced by the integer `factor` >= 1: each output pixel is the mean of a factor x factor
// block; blocks cut by the right or bottom edge average the pixels they have.
Plane Reduce(const GrayImage& image, uint32_t factor);

// `in` (at least 1x1) resampled to `width` x `height` (each >= 1) by area averaging.
Plane ResampleArea(const Plane& in, uint32_t width, uint32_t height);

}  // namespace pynq::preprocess

#endif  // PYNQ_PREPROCESS_PLANE_H_
