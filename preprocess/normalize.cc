#include "preprocess/normalize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "preprocess/plane.h"

namespace pynq::preprocess {
namespace {

using accel::Foreground;
using accel::Levels;
using accel::PictureMethod;
using accel::Placement;

// The background is modelled from a band along the picture's edges, this fraction of its shorter
// side wide (at least one pixel), sampled at most kMaxBandSamples times.
constexpr uint32_t kBandDivisor = 16;
constexpr size_t kMaxBandSamples = 8192;
constexpr int kFitRounds = 4;
// Band pixels further than this many noise deviations from the fit are left out of the next round.
constexpr float kInlierDeviations = 2.5f;
// MAD to standard deviation, for normally distributed noise.
constexpr float kMadToSigma = 1.4826f;
// Content: the 3x3-blurred residual at least max(kDetectDeviations * its noise + 2,
// peak / kPeakDivisor).
constexpr float kDetectDeviations = 4;
constexpr float kPeakDivisor = 4;
// Inside the content's pieces, the pixels that count for its bounding box and ink level: the
// residual itself at least max(kDetectDeviations * noise + 2, peak / kBoxPeakDivisor), so the
// box hugs the strokes (the blur used to find the pieces widens them by a pixel).
constexpr float kBoxPeakDivisor = 8;
// Connected pieces of content lighter than this fraction of the heaviest are noise, not content.
constexpr float kMinPieceFraction = 0.05f;
// The ink level is this percentile of the content's pixels (MNIST's strokes: 253 of 255).
constexpr float kInkPercentile = 0.75f;
// Residuals below this many noise deviations are background: subtracted before the levels.
constexpr float kFloorDeviations = 3;

float Median(std::vector<float> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// S(x, y) = c0 + c1 u + c2 v + c3 u^2 + c4 uv + c5 v^2, with u, v the pixel centre scaled to
// [-1, 1] across the picture: smooth enough for lighting (a gradient, a vignette), too stiff to
// follow a stroke.
struct Quadratic {
  std::array<double, 6> c{};
  uint32_t width = 1;
  uint32_t height = 1;

  static std::array<double, 6> Terms(double u, double v) { return {1, u, v, u * u, u * v, v * v}; }
  double U(double x) const { return (2 * x + 1) / width - 1; }
  double V(double y) const { return (2 * y + 1) / height - 1; }
  float operator()(uint32_t x, uint32_t y) const {
    const std::array<double, 6> t = Terms(U(x), V(y));
    double s = 0;
    for (int i = 0; i < 6; ++i) s += c[i] * t[i];
    return static_cast<float>(s);
  }
};

struct Sample {
  uint32_t x;
  uint32_t y;
  float value;
};

// Least squares over `samples` where `use` is set, by the normal equations and Gaussian
// elimination with partial pivoting. A direction the samples do not determine (a picture one
// pixel wide has no u) gets a coefficient of 0.
std::array<double, 6> SolveLeastSquares(const Quadratic& shape, const std::vector<Sample>& samples,
                                        const std::vector<bool>& use) {
  double a[6][7] = {};
  for (size_t k = 0; k < samples.size(); ++k) {
    if (!use[k]) continue;
    const std::array<double, 6> t = Quadratic::Terms(shape.U(samples[k].x), shape.V(samples[k].y));
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 6; ++j) a[i][j] += t[i] * t[j];
      a[i][6] += t[i] * samples[k].value;
    }
  }
  // Gauss-Jordan: after every column is eliminated, the row that pivoted a column holds that
  // column's coefficient alone (the other determined columns are zero there), so the
  // coefficients are read only then; read while later columns are still in the row, they would
  // carry those columns' terms (the constant would carry the u^2 and v^2 of a vignette).
  const double tiny = 1e-9 * (1 + std::abs(a[0][0]));
  std::array<int, 6> pivot_row;
  pivot_row.fill(-1);
  for (int col = 0, row = 0; col < 6 && row < 6; ++col) {
    int pivot = row;
    for (int r = row + 1; r < 6; ++r) {
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    }
    if (std::abs(a[pivot][col]) < tiny) continue;
    std::swap(a[row], a[pivot]);
    for (int r = 0; r < 6; ++r) {
      if (r == row) continue;
      const double f = a[r][col] / a[row][col];
      for (int j = col; j < 7; ++j) a[r][j] -= f * a[row][j];
    }
    pivot_row[col] = row++;
  }
  std::array<double, 6> c{};
  for (int col = 0; col < 6; ++col) {
    if (pivot_row[col] >= 0) c[col] = a[pivot_row[col]][6] / a[pivot_row[col]][col];
  }
  return c;
}

// The background (a quadratic surface) and its noise, fitted robustly to the edge band: each
// round refits to the band pixels within kInlierDeviations of the last fit, so strokes that
// touch the edge do not pull it.
struct Background {
  Quadratic surface;
  float noise = 0;
};

Background FitBackground(const Plane& f) {
  const uint32_t band = std::max<uint32_t>(1, std::min(f.width, f.height) / kBandDivisor);
  std::vector<Sample> samples;
  const size_t band_pixels =
      size_t{f.width} * f.height -
      size_t{f.width > 2 * band ? f.width - 2 * band : 0} * (f.height > 2 * band ? f.height - 2 * band : 0);
  const size_t stride = std::max<size_t>(1, band_pixels / kMaxBandSamples);
  size_t index = 0;
  for (uint32_t y = 0; y < f.height; ++y) {
    const bool edge_row = y < band || y + band >= f.height;
    for (uint32_t x = 0; x < f.width; ++x) {
      if (!edge_row && x >= band && x + band < f.width) {
        x = f.width - band - 1;  // jump over the interior
        continue;
      }
      if (index++ % stride == 0) samples.push_back({x, y, f.at(x, y)});
    }
  }
  Background b;
  b.surface.width = f.width;
  b.surface.height = f.height;
  std::vector<bool> use(samples.size(), true);
  std::vector<float> deviations;
  for (int round = 0; round < kFitRounds; ++round) {
    b.surface.c = SolveLeastSquares(b.surface, samples, use);
    deviations.clear();
    for (size_t k = 0; k < samples.size(); ++k) {
      if (use[k]) deviations.push_back(std::abs(samples[k].value - b.surface(samples[k].x, samples[k].y)));
    }
    b.noise = kMadToSigma * Median(deviations);
    const float keep = std::max(kInlierDeviations * b.noise, 1.0f);
    for (size_t k = 0; k < samples.size(); ++k) {
      use[k] = std::abs(samples[k].value - b.surface(samples[k].x, samples[k].y)) <= keep;
    }
  }
  return b;
}

Plane BoxBlur3(const Plane& in) {
  Plane out(in.width, in.height);
  for (uint32_t y = 0; y < in.height; ++y) {
    for (uint32_t x = 0; x < in.width; ++x) {
      float sum = 0;
      int n = 0;
      for (uint32_t yy = y > 0 ? y - 1 : 0; yy <= std::min(y + 1, in.height - 1); ++yy) {
        for (uint32_t xx = x > 0 ? x - 1 : 0; xx <= std::min(x + 1, in.width - 1); ++xx) {
          sum += in.at(xx, yy);
          ++n;
        }
      }
      out.at(x, y) = sum / static_cast<float>(n);
    }
  }
  return out;
}

struct Box {
  uint32_t x0 = UINT32_MAX;
  uint32_t y0 = UINT32_MAX;
  uint32_t x1 = 0;  // inclusive while growing
  uint32_t y1 = 0;
  void Add(uint32_t x, uint32_t y) {
    x0 = std::min(x0, x);
    y0 = std::min(y0, y);
    x1 = std::max(x1, x);
    y1 = std::max(y1, y);
  }
  void Add(const Box& b) {
    Add(b.x0, b.y0);
    Add(b.x1, b.y1);
  }
};

// The content: the 8-connected pieces of `mask`, without those lighter (by their mass in
// `residual`) than kMinPieceFraction of the heaviest. Marks their pixels in `content`.
void FindContent(const std::vector<bool>& mask, const Plane& residual, std::vector<bool>* content) {
  const uint32_t w = residual.width;
  const uint32_t h = residual.height;
  std::vector<int32_t> label(mask.size(), -1);
  struct Piece {
    double mass = 0;
  };
  std::vector<Piece> pieces;
  std::vector<uint32_t> stack;
  for (size_t start = 0; start < mask.size(); ++start) {
    if (!mask[start] || label[start] >= 0) continue;
    const auto id = static_cast<int32_t>(pieces.size());
    pieces.emplace_back();
    label[start] = id;
    stack.push_back(static_cast<uint32_t>(start));
    while (!stack.empty()) {
      const uint32_t p = stack.back();
      stack.pop_back();
      const uint32_t x = p % w;
      const uint32_t y = p / w;
      pieces[id].mass += residual.values[p];
      for (uint32_t yy = y > 0 ? y - 1 : 0; yy <= std::min(y + 1, h - 1); ++yy) {
        for (uint32_t xx = x > 0 ? x - 1 : 0; xx <= std::min(x + 1, w - 1); ++xx) {
          const size_t q = size_t{yy} * w + xx;
          if (mask[q] && label[q] < 0) {
            label[q] = id;
            stack.push_back(static_cast<uint32_t>(q));
          }
        }
      }
    }
  }
  double heaviest = 0;
  for (const Piece& piece : pieces) heaviest = std::max(heaviest, piece.mass);
  std::vector<bool> kept(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    kept[i] = pieces[i].mass >= kMinPieceFraction * heaviest;
  }
  content->assign(mask.size(), false);
  for (size_t p = 0; p < mask.size(); ++p) (*content)[p] = label[p] >= 0 && kept[label[p]];
}

float Percentile(std::vector<float> values, float q) {
  auto at = values.begin() + static_cast<size_t>(q * static_cast<float>(values.size() - 1));
  std::nth_element(values.begin(), at, values.end());
  return *at;
}

}  // namespace

absl::StatusOr<NormalizedInput> Normalize(const GrayImage& picture,
                                          const accel::InputPreprocessing& recipe,
                                          const accel::Shape& input) {
  if (recipe.method == PictureMethod::kNone) {
    return absl::InvalidArgumentError(
        "the model takes raw input tensors only: its file declares no picture preprocessing");
  }
  if (input.c != 1 || picture.width == 0 || picture.height == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot make a %dx%d picture into a %dx%dx%d input", picture.width, picture.height,
        input.c, input.h, input.w));
  }
  NormalizedInput result;
  NormalizeReport& report = result.report;

  // 1. A working copy of at most kMaxWorkingSide on its longer side.
  const uint32_t longer = std::max(picture.width, picture.height);
  const uint32_t reduction = (longer + kMaxWorkingSide - 1) / kMaxWorkingSide;
  Plane f = Reduce(picture, reduction);

  // 2. The background and its noise; the residual is what stands out of it.
  const Background background = FitBackground(f);
  Plane residual(f.width, f.height);
  for (uint32_t y = 0; y < f.height; ++y) {
    for (uint32_t x = 0; x < f.width; ++x) residual.at(x, y) = f.at(x, y) - background.surface(x, y);
  }
  report.noise = background.noise;

  // 3. Polarity: the content is on the side of the background with more mass beyond the noise.
  const float beyond = kFloorDeviations * background.noise + 2;
  double light = 0;
  double dark = 0;
  for (float r : residual.values) {
    light += std::max(0.0f, r - beyond);
    dark += std::max(0.0f, -r - beyond);
  }
  report.inverted = dark > light;
  if (report.inverted) {
    for (float& r : residual.values) r = -r;
  }

  // 4. The content: where the blurred residual stands out of the blurred noise and out of the
  // peak's shadow. The blurred noise is measured where the blur window holds background pixels
  // only (the blur averages white noise down, but not JPEG's correlated noise; a window touching
  // content would count the content's spill as noise, which on a small picture is most of it).
  // Where no such window exists, the picture is all content and edge: white noise's value then.
  Plane blurred = BoxBlur3(residual);
  const float inlier_bound = kInlierDeviations * background.noise + 1;
  std::vector<bool> inlier(residual.values.size());
  for (size_t p = 0; p < inlier.size(); ++p) {
    inlier[p] = std::abs(residual.values[p]) <= inlier_bound;
  }
  const auto window_is_background = [&](uint32_t x, uint32_t y) {
    for (uint32_t yy = y > 0 ? y - 1 : 0; yy <= std::min(y + 1, f.height - 1); ++yy) {
      for (uint32_t xx = x > 0 ? x - 1 : 0; xx <= std::min(x + 1, f.width - 1); ++xx) {
        if (!inlier[static_cast<size_t>(yy) * f.width + xx]) return false;
      }
    }
    return true;
  };
  std::vector<float> background_blur;
  const size_t stride = std::max<size_t>(1, residual.values.size() / kMaxBandSamples);
  for (size_t p = 0; p < residual.values.size(); p += stride) {
    if (window_is_background(static_cast<uint32_t>(p % f.width),
                             static_cast<uint32_t>(p / f.width))) {
      background_blur.push_back(std::abs(blurred.values[p]));
    }
  }
  // An average of noise values is never noisier than they are: the blurred noise is at most the
  // background's (a larger figure is the structure of the lighting, not noise).
  const float blurred_noise =
      background_blur.empty()
          ? background.noise / 3
          : std::min(background.noise, kMadToSigma * Median(std::move(background_blur)));
  for (float& r : residual.values) r = std::max(0.0f, r);
  for (float& b : blurred.values) b = std::max(0.0f, b);
  const float peak = *std::max_element(blurred.values.begin(), blurred.values.end());
  // A picture has content when its peak is at least kMinContrast and beyond what the blurred
  // noise alone reaches on a picture of its size: the largest of n independent Gaussian values
  // is about sqrt(2 ln n) standard deviations, and the 3x3 blur leaves about one independent
  // value per 9 pixels.
  const double independent = std::max(2.0, static_cast<double>(f.values.size()) / 9);
  const float content_deviations = static_cast<float>(std::sqrt(2 * std::log(independent)));
  const float needed = std::max(kMinContrast, content_deviations * blurred_noise + 2);
  if (peak < needed) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "nothing on the picture: no content stands out of the background (the strongest is %.0f "
        "gray levels, %.1f times the background's noise; at least %.0f levels are needed)",
        peak, peak / std::max(blurred_noise, 0.01f), needed));
  }
  const float threshold = std::max(kDetectDeviations * blurred_noise + 2, peak / kPeakDivisor);
  std::vector<bool> mask(blurred.values.size());
  for (size_t p = 0; p < mask.size(); ++p) mask[p] = blurred.values[p] >= threshold;
  std::vector<bool> content;
  FindContent(mask, residual, &content);
  const float stroke = std::max(kDetectDeviations * background.noise + 2, peak / kBoxPeakDivisor);
  Box box;
  std::vector<float> ink_values;
  for (size_t p = 0; p < content.size(); ++p) {
    if (content[p] && residual.values[p] >= stroke) {
      box.Add(static_cast<uint32_t>(p % f.width), static_cast<uint32_t>(p / f.width));
      ink_values.push_back(residual.values[p]);
    }
  }
  if (ink_values.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "nothing on the picture: no pixel of the content stands %.0f gray levels out of the "
        "background", stroke));
  }

  // 5. Levels: the noise floor goes to 0; with kStretch the ink level goes to 255.
  const float ink = Percentile(std::move(ink_values), kInkPercentile);
  const float floor = std::min(kFloorDeviations * background.noise, ink / 2);
  const float gain =
      recipe.levels == Levels::kStretch ? 255.0f / std::max(ink - floor, 1.0f) : 1.0f;
  report.ink = ink;
  const uint32_t crop_w = box.x1 - box.x0 + 1;
  const uint32_t crop_h = box.y1 - box.y0 + 1;
  Plane crop(crop_w, crop_h);
  for (uint32_t y = 0; y < crop_h; ++y) {
    for (uint32_t x = 0; x < crop_w; ++x) {
      crop.at(x, y) = std::clamp((residual.at(box.x0 + x, box.y0 + y) - floor) * gain, 0.0f, 255.0f);
    }
  }
  report.x0 = box.x0 * reduction;
  report.y0 = box.y0 * reduction;
  report.x1 = std::min(picture.width, (box.x1 + 1) * reduction);
  report.y1 = std::min(picture.height, (box.y1 + 1) * reduction);

  // 6. Scale to fit the box, keeping the aspect ratio.
  const double scale = std::min(static_cast<double>(recipe.box_width) / crop_w,
                                static_cast<double>(recipe.box_height) / crop_h);
  const auto out_w = std::clamp<uint32_t>(static_cast<uint32_t>(std::lround(crop_w * scale)), 1,
                                          recipe.box_width);
  const auto out_h = std::clamp<uint32_t>(static_cast<uint32_t>(std::lround(crop_h * scale)), 1,
                                          recipe.box_height);
  const Plane scaled = ResampleArea(crop, out_w, out_h);

  // 7. Place it: its centre of mass on the input's centre (MNIST's digits have theirs at
  // (14.0, 14.0) in pixel-index coordinates of 28x28), or centred as a box.
  int64_t left = (static_cast<int64_t>(input.w) - out_w) / 2;
  int64_t top = (static_cast<int64_t>(input.h) - out_h) / 2;
  if (recipe.placement == Placement::kCentreOfMass) {
    double mass = 0;
    double mx = 0;
    double my = 0;
    for (uint32_t y = 0; y < out_h; ++y) {
      for (uint32_t x = 0; x < out_w; ++x) {
        mass += scaled.at(x, y);
        mx += static_cast<double>(x) * scaled.at(x, y);
        my += static_cast<double>(y) * scaled.at(x, y);
      }
    }
    if (mass > 0) {
      left = std::lround(input.w / 2.0 - mx / mass);
      top = std::lround(input.h / 2.0 - my / mass);
    }
  }
  result.pixels.assign(input.elements(), 0);
  for (uint32_t y = 0; y < out_h; ++y) {
    const int64_t ty = top + y;
    if (ty < 0 || ty >= input.h) continue;
    for (uint32_t x = 0; x < out_w; ++x) {
      const int64_t tx = left + x;
      if (tx < 0 || tx >= input.w) continue;
      result.pixels[static_cast<size_t>(ty) * input.w + static_cast<size_t>(tx)] =
          static_cast<uint8_t>(std::lround(std::clamp(scaled.at(x, y), 0.0f, 255.0f)));
    }
  }
  if (recipe.foreground == Foreground::kDarkOnLight) {
    for (uint8_t& p : result.pixels) p = static_cast<uint8_t>(255 - p);
  }
  return result;
}

}  // namespace pynq::preprocess
