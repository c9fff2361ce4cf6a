#include "tests/support/digit_pictures.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "tests/support/picture_writer.h"

namespace pynq::testing {
namespace {

constexpr uint32_t kSide = 28;

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  uint32_t Int(uint32_t lo, uint32_t hi) {  // inclusive
    return lo + static_cast<uint32_t>(Next() % (uint64_t{hi} - lo + 1));
  }
  double Gaussian() {
    const double u = std::max(Uniform(), 1e-12);
    return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * Uniform());
  }

 private:
  uint64_t state_;
};

struct Scene {
  uint32_t width;
  uint32_t height;
  double digit_long_side;  // pixels
  double paper;
  double ink;
  double gradient;    // gray levels across the frame; 0 for even lighting
  double gradient_angle;
  double edge_shade;  // how much darker the corners are
  double noise;       // sigma
  bool colour;
};

// The digit's intensity (0..1) at picture pixel (x, y), bilinear from the 28x28 source placed
// with its bounding box's top-left at (left, top) and scaled by `scale`.
double DigitAt(absl::Span<const uint8_t> digit, double sx, double sy) {
  if (sx < 0 || sy < 0 || sx > kSide - 1 || sy > kSide - 1) return 0;
  const int x0 = static_cast<int>(sx);
  const int y0 = static_cast<int>(sy);
  const int x1 = std::min<int>(x0 + 1, kSide - 1);
  const int y1 = std::min<int>(y0 + 1, kSide - 1);
  const double fx = sx - x0;
  const double fy = sy - y0;
  auto v = [&](int x, int y) { return digit[y * kSide + x] / 255.0; };
  return (1 - fy) * ((1 - fx) * v(x0, y0) + fx * v(x1, y0)) + fy * ((1 - fx) * v(x0, y1) + fx * v(x1, y1));
}

Rgba Render(absl::Span<const uint8_t> digit, const Scene& scene, SplitMix64& rng) {
  uint32_t bx0 = kSide, by0 = kSide, bx1 = 0, by1 = 0;
  for (uint32_t y = 0; y < kSide; ++y) {
    for (uint32_t x = 0; x < kSide; ++x) {
      if (digit[y * kSide + x] == 0) continue;
      bx0 = std::min(bx0, x);
      by0 = std::min(by0, y);
      bx1 = std::max(bx1, x);
      by1 = std::max(by1, y);
    }
  }
  if (bx1 < bx0) bx0 = by0 = 0, bx1 = by1 = kSide - 1;
  const double scale = scene.digit_long_side / (std::max(bx1 - bx0, by1 - by0) + 1);
  const double dw = (bx1 - bx0 + 1) * scale;
  const double dh = (by1 - by0 + 1) * scale;
  const double left = rng.Uniform(1, std::max(1.0, scene.width - dw - 1));
  const double top = rng.Uniform(1, std::max(1.0, scene.height - dh - 1));
  const double gx = std::cos(scene.gradient_angle);
  const double gy = std::sin(scene.gradient_angle);
  Rgba out(scene.width, scene.height, {0, 0, 0, 255});
  for (uint32_t y = 0; y < scene.height; ++y) {
    for (uint32_t x = 0; x < scene.width; ++x) {
      const double u = (2.0 * x + 1) / scene.width - 1;
      const double v = (2.0 * y + 1) / scene.height - 1;
      const double paper = scene.paper + scene.gradient * 0.5 * (gx * u + gy * v) -
                           scene.edge_shade * 0.5 * (u * u + v * v);
      // Pixel centre back to source coordinates (bounding box origin at bx0, by0).
      const double d = DigitAt(digit, bx0 - 0.5 + (x + 0.5 - left) / scale,
                               by0 - 0.5 + (y + 0.5 - top) / scale);
      const double gray = paper + (scene.ink - paper) * d + scene.noise * rng.Gaussian();
      Pixel& p = out.at(x, y);
      if (scene.colour) {
        // Cream paper, blue-black ink.
        const double tint[3] = {1.0, 0.96 - 0.1 * d, 0.86 + 0.3 * d};
        for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::clamp(gray * tint[c], 0.0, 255.0));
      } else {
        p[0] = p[1] = p[2] = static_cast<uint8_t>(std::clamp(std::lround(gray), 0L, 255L));
      }
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<DigitPicture>> MakeDigitPictures(absl::Span<const uint8_t> digits,
                                                            absl::Span<const uint8_t> labels,
                                                            uint64_t seed) {
  if (digits.size() != labels.size() * kSide * kSide) {
    return absl::InvalidArgumentError("MakeDigitPictures: digits and labels disagree");
  }
  std::vector<DigitPicture> set;
  for (size_t i = 0; i < labels.size(); ++i) {
    SplitMix64 rng(seed * 0x100000001B3ull + i);
    Scene scene{.width = rng.Int(64, 256), .height = rng.Int(64, 256)};
    scene.digit_long_side =
        rng.Uniform(0.4, 0.9) * 20.0 / kSide * std::min(scene.width, scene.height);
    scene.paper = rng.Uniform(170, 250);
    scene.ink = rng.Uniform(10, 90);
    const uint32_t kind = rng.Int(0, 2);  // 0 clean, 1 uneven lighting, 2 noise
    scene.gradient = kind == 1 ? rng.Uniform(30, 80) : 0;
    scene.gradient_angle = rng.Uniform(0, 6.283185307179586);
    scene.edge_shade = kind == 1 ? rng.Uniform(0, 40) : 0;
    scene.noise = kind == 2 ? rng.Uniform(3, 12) : 0;
    scene.colour = rng.Int(0, 3) == 0;
    const Rgba picture = Render(digits.subspan(i * kSide * kSide, kSide * kSide), scene, rng);
    DigitPicture out{.width = scene.width, .height = scene.height, .label = labels[i]};
    absl::StatusOr<std::string> bytes;
    if (i % 2 == 0) {
      const uint32_t variant = rng.Int(0, 2);
      out.extension = "png";
      bytes = EncodePng(picture, {.colour = scene.colour || variant == 1 ? PngColour::kRgb
                                                                         : PngColour::kGray,
                                  .bit_depth = variant == 2 && !scene.colour ? 16 : 8});
    } else {
      out.extension = "jpg";
      bytes = EncodeJpeg(picture, {.colour = scene.colour ? JpegColour::kYCbCr : JpegColour::kGray,
                                   .quality = static_cast<int>(rng.Int(60, 95)),
                                   .progressive = rng.Int(0, 3) == 0});
    }
    if (!bytes.ok()) return bytes.status();
    out.bytes = *std::move(bytes);
    set.push_back(std::move(out));
  }
  return set;
}

absl::StatusOr<std::string> MakeDigitPhoto(absl::Span<const uint8_t> digit, uint32_t width,
                                           uint32_t height, uint64_t seed) {
  if (digit.size() != kSide * kSide) return absl::InvalidArgumentError("a digit is 784 bytes");
  SplitMix64 rng(seed);
  const Scene scene{.width = width,
                    .height = height,
                    .digit_long_side = 0.45 * std::min(width, height),
                    .paper = 215,
                    .ink = 35,
                    .gradient = 60,
                    .gradient_angle = 0.7,
                    .edge_shade = 30,
                    .noise = 5,
                    .colour = true};
  return EncodeJpeg(Render(digit, scene, rng), {.quality = 85});
}

}  // namespace pynq::testing
