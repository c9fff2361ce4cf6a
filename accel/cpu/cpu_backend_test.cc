#include "accel/cpu/cpu_backend.h"

#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "accel/cpu/kernel_set.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel {
namespace {

using engine::Op;

// A binarized MLP kept as plain ±1 integers, evaluated the slow obvious way, to check the packed
// XNOR-popcount kernels against. It shares nothing with the backend but PackBitRows().
struct NaiveBnn {
  Shape input;
  int threshold = 128;
  std::vector<std::vector<std::vector<int>>> weights;  // [layer][out][in], each ±1
  std::vector<std::vector<int32_t>> params;            // thresholds, then biases last

  std::vector<int32_t> Scores(const uint8_t* image) const {
    std::vector<int> x(input.elements());
    for (size_t j = 0; j < x.size(); ++j) x[j] = image[j] >= threshold ? 1 : -1;
    for (size_t l = 0; l < weights.size(); ++l) {
      std::vector<int> y(weights[l].size());
      for (size_t i = 0; i < y.size(); ++i) {
        int dot = 0;
        for (size_t j = 0; j < x.size(); ++j) dot += weights[l][i][j] * x[j];
        y[i] = l + 1 == weights.size() ? dot + params[l][i] : (dot >= params[l][i] ? 1 : -1);
      }
      x = std::move(y);
    }
    return {x.begin(), x.end()};
  }

  ModelSpec Spec() const {
    ModelSpec spec;
    spec.input = input;
    for (size_t i = 0; i < weights.back().size(); ++i) spec.labels.push_back(std::to_string(i));
    const auto pixels = static_cast<uint32_t>(input.elements());
    spec.layers.push_back({.op = Op::kInputBinarize, .in = input, .out = {pixels, 1, 1},
                           .arg = {threshold, 0, 0}});
    for (size_t l = 0; l < weights.size(); ++l) {
      const auto n_in = static_cast<uint32_t>(weights[l][0].size());
      const auto n_out = static_cast<uint32_t>(weights[l].size());
      std::vector<std::vector<bool>> rows;
      for (const auto& row : weights[l]) {
        std::vector<bool> bits;
        for (int w : row) bits.push_back(w > 0);
        rows.push_back(bits);
      }
      spec.layers.push_back(
          {.op = l + 1 == weights.size() ? Op::kBnnDenseScores : Op::kBnnDense,
           .in = {n_in, 1, 1},
           .out = {n_out, 1, 1},
           .weights = PackBitRows(rows, n_in),
           .params = Int32Bytes(params[l])});
    }
    return spec;
  }
};

NaiveBnn RandomNaive(std::mt19937& rng, Shape input, const std::vector<int>& widths) {
  NaiveBnn net;
  net.input = input;
  net.threshold = std::uniform_int_distribution<int>(1, 255)(rng);
  int n_in = static_cast<int>(input.elements());
  for (int n_out : widths) {
    std::vector<std::vector<int>> layer(n_out, std::vector<int>(n_in));
    for (auto& row : layer) {
      for (int& w : row) w = (rng() & 1) ? 1 : -1;
    }
    std::vector<int32_t> p(n_out);
    for (int32_t& v : p) v = std::uniform_int_distribution<int>(-n_in / 4 - 1, n_in / 4 + 1)(rng);
    net.weights.push_back(std::move(layer));
    net.params.push_back(std::move(p));
    n_in = n_out;
  }
  return net;
}

std::vector<uint8_t> RandomImages(std::mt19937& rng, size_t count, size_t bytes) {
  std::vector<uint8_t> images(count * bytes);
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
  return images;
}

TEST(CpuBackendTest, MatchesNaiveReferenceOnRandomModels) {
  std::mt19937 rng(20261121);
  // Widths straddle the 64-bit word boundary, where packing mistakes show.
  const std::vector<std::vector<int>> shapes = {
      {10}, {1, 2}, {63, 10}, {64, 10}, {65, 3}, {128, 64, 10}, {200, 129, 7}};
  const std::vector<Shape> inputs = {{1, 28, 28}, {1, 1, 1}, {3, 5, 7}, {1, 8, 8}};
  for (const Shape& input : inputs) {
    for (const auto& widths : shapes) {
      NaiveBnn net = RandomNaive(rng, input, widths);
      absl::StatusOr<std::shared_ptr<const Model>> model =
          Model::FromBytes(SerializeModel(net.Spec()));
      ASSERT_TRUE(model.ok()) << model.status();
      const size_t classes = widths.back();
      // 37 images: a full tile of 32 and a part one, with blocks of images left over.
      const size_t n = 37;
      std::vector<uint8_t> images = RandomImages(rng, n, input.elements());
      std::vector<int32_t> expected;
      for (size_t i = 0; i < n; ++i) {
        const std::vector<int32_t> one = net.Scores(images.data() + i * input.elements());
        expected.insert(expected.end(), one.begin(), one.end());
      }
      for (const cpu::KernelSet* set : cpu::SupportedKernelSets()) {
        SCOPED_TRACE(set->name);
        auto cpu = CpuAccelerator::Create(*model, {.max_batch_size = 64, .kernels = set->name});
        ASSERT_TRUE(cpu.ok()) << cpu.status();
        EXPECT_EQ((*cpu)->kernels_name(), set->name);
        std::vector<int32_t> scores(n * classes);
        ASSERT_TRUE((*cpu)->Run(images, absl::MakeSpan(scores)).ok());
        EXPECT_EQ(scores, expected) << "input " << input.c << "x" << input.h << "x" << input.w
                                    << ", widths " << ::testing::PrintToString(widths);
      }
    }
  }
}

// An int8 program evaluated the slow obvious way, straight from the ModelSpec's bytes, in int64
// with a floor division written out: it shares nothing with the kernels or the loader.
class NaiveInt8 {
 public:
  explicit NaiveInt8(const ModelSpec& spec) : spec_(spec) {}

  std::vector<int32_t> Scores(const uint8_t* image) const {
    Shape shape = spec_.input;
    std::vector<int64_t> x(image, image + shape.elements());
    for (const LayerSpec& l : spec_.layers) {
      switch (l.op) {
        case Op::kInputQuantize:
          for (int64_t& v : x) v = Clamp(RoundShift(v * l.arg[0], l.arg[1]), -128);
          break;
        case Op::kInt8Dense:
        case Op::kInt8DenseScores: {
          const size_t n_in = x.size();
          std::vector<int64_t> y(l.out.c);
          for (size_t i = 0; i < y.size(); ++i) {
            int64_t acc = Param(l, 0, i);
            for (size_t j = 0; j < n_in; ++j) acc += Weight(l, i * n_in + j) * x[j];
            y[i] = l.op == Op::kInt8DenseScores ? acc : Requantize(l, i, acc);
          }
          x = std::move(y);
          break;
        }
        case Op::kInt8Conv: {
          const size_t k = l.arg[0];
          std::vector<int64_t> y(l.out.elements());
          for (size_t o = 0; o < l.out.c; ++o) {
            for (size_t oy = 0; oy < l.out.h; ++oy) {
              for (size_t ox = 0; ox < l.out.w; ++ox) {
                int64_t acc = Param(l, 0, o);
                for (size_t c = 0; c < shape.c; ++c) {
                  for (size_t ky = 0; ky < k; ++ky) {
                    for (size_t kx = 0; kx < k; ++kx) {
                      acc += Weight(l, ((o * shape.c + c) * k + ky) * k + kx) *
                             x[(c * shape.h + oy + ky) * shape.w + ox + kx];
                    }
                  }
                }
                y[(o * l.out.h + oy) * l.out.w + ox] = Requantize(l, o, acc);
              }
            }
          }
          x = std::move(y);
          break;
        }
        case Op::kMaxPool: {
          const size_t p = l.arg[0];
          std::vector<int64_t> y(l.out.elements(), std::numeric_limits<int64_t>::min());
          for (size_t c = 0; c < shape.c; ++c) {
            for (size_t iy = 0; iy < shape.h; ++iy) {
              for (size_t ix = 0; ix < shape.w; ++ix) {
                int64_t& m = y[(c * l.out.h + iy / p) * l.out.w + ix / p];
                m = std::max(m, x[(c * shape.h + iy) * shape.w + ix]);
              }
            }
          }
          x = std::move(y);
          break;
        }
        default:
          ADD_FAILURE() << "not an int8 op: " << static_cast<int>(l.op);
      }
      shape = l.out;
    }
    return {x.begin(), x.end()};
  }

 private:
  // floor((x + 2^(n-1)) / 2^n), with the floor of a negative quotient made explicit.
  static int64_t RoundShift(int64_t x, int64_t n) {
    if (n == 0) return x;
    const int64_t divisor = int64_t{1} << n;
    const int64_t numerator = x + divisor / 2;
    int64_t quotient = numerator / divisor;  // Truncates toward zero.
    if (numerator % divisor != 0 && numerator < 0) --quotient;
    return quotient;
  }
  static int64_t Clamp(int64_t v, int64_t lo) { return std::min<int64_t>(std::max(v, lo), 127); }
  static int64_t Weight(const LayerSpec& l, size_t i) { return static_cast<int8_t>(l.weights[i]); }
  // Element i of params array `array` (0 bias, 1 multiplier, 2 shift).
  static int64_t Param(const LayerSpec& l, size_t array, size_t i) {
    int32_t v;
    std::memcpy(&v, l.params.data() + (array * l.out.c + i) * sizeof(int32_t), sizeof(v));
    return v;
  }
  static int64_t Requantize(const LayerSpec& l, size_t channel, int64_t acc) {
    return Clamp(RoundShift(acc * Param(l, 1, channel), Param(l, 2, channel)),
                 l.arg[1] == 1 ? 0 : -128);
  }

  const ModelSpec& spec_;
};

struct Int8Case {
  std::string name;
  RandomInt8Options options;
};

class CpuBackendInt8Test : public ::testing::TestWithParam<Int8Case> {};

TEST_P(CpuBackendInt8Test, MatchesNaiveReferenceOnRandomModels) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    RandomInt8Options options = GetParam().options;
    options.seed = seed;
    const ModelSpec spec = RandomInt8Spec(options);
    absl::StatusOr<std::shared_ptr<const Model>> model = Model::FromBytes(SerializeModel(spec));
    ASSERT_TRUE(model.ok()) << model.status();
    std::mt19937 rng(static_cast<uint32_t>(seed));
    // 11 images in tiles of 8 (max_batch_size): a full tile and a part one.
    const size_t n = 11;
    const size_t classes = options.num_classes;
    const size_t pixels = options.input.elements();
    std::vector<uint8_t> images = RandomImages(rng, n, pixels);
    // The first image spans every pixel value, so the input quantizer's saturation shows.
    for (size_t j = 0; j < pixels; ++j) images[j] = static_cast<uint8_t>(j);
    const NaiveInt8 naive(spec);
    std::vector<int32_t> expected;
    for (size_t i = 0; i < n; ++i) {
      const std::vector<int32_t> one = naive.Scores(images.data() + i * pixels);
      expected.insert(expected.end(), one.begin(), one.end());
    }
    for (const cpu::KernelSet* set : cpu::SupportedKernelSets()) {
      SCOPED_TRACE(set->name);
      auto cpu = CpuAccelerator::Create(*model, {.max_batch_size = 8, .kernels = set->name});
      ASSERT_TRUE(cpu.ok()) << cpu.status();
      std::vector<int32_t> scores(n * classes);
      for (size_t first = 0; first < n; first += 8) {
        const size_t count = std::min<size_t>(8, n - first);
        ASSERT_TRUE((*cpu)
                        ->Run(absl::MakeConstSpan(images).subspan(first * pixels, count * pixels),
                              absl::MakeSpan(scores).subspan(first * classes, count * classes))
                        .ok());
      }
      EXPECT_EQ(scores, expected) << "seed " << seed;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuBackendInt8Test,
    ::testing::Values(
        Int8Case{"Mlp", {.stages = {Int8Dense(128), Int8Dense(64)}}},
        Int8Case{"LeNet5",
                 {.stages = {Int8Conv(6, 5), Int8Pool(2), Int8Conv(16, 5), Int8Pool(2),
                             Int8Dense(120), Int8Dense(84)}}},
        Int8Case{"NoReluMultiChannel",
                 {.input = {3, 12, 12},
                  .stages = {Int8Conv(4, 3, false), Int8Pool(2), Int8Dense(7, false)},
                  .num_classes = 3}},
        Int8Case{"KernelsAndWindowsAtTheirLimits",
                 {.input = {2, 24, 24},
                  .stages = {Int8Conv(5, 7), Int8Pool(3), Int8Conv(3, 1), Int8Pool(2)},
                  .num_classes = 4}},
        Int8Case{"WidestTensors",
                 {.input = {4, 32, 32},
                  .stages = {Int8Conv(4, 1), Int8Pool(4), Int8Dense(4096, false)},
                  .num_classes = 5}},
        Int8Case{"DenseReadsAnyShape", {.input = {2, 5, 7}, .stages = {Int8Dense(9)}}},
        Int8Case{"QuantizeThenScores", {.input = {1, 1, 1}, .stages = {}, .num_classes = 2}}),
    [](const ::testing::TestParamInfo<Int8Case>& info) { return info.param.name; });

TEST(CpuBackendTest, BatchResultsEqualOneByOne) {
  auto model = Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 11})));
  ASSERT_TRUE(model.ok());
  auto cpu = CpuAccelerator::Create(*model, {.max_batch_size = 32});
  ASSERT_TRUE(cpu.ok());
  std::mt19937 rng(5);
  std::vector<uint8_t> images = RandomImages(rng, 32, 784);
  std::vector<int32_t> batch(32 * 10);
  ASSERT_TRUE((*cpu)->Run(images, absl::MakeSpan(batch)).ok());
  for (size_t i = 0; i < 32; ++i) {
    std::vector<int32_t> one(10);
    ASSERT_TRUE((*cpu)->Run(absl::MakeConstSpan(images).subspan(i * 784, 784),
                            absl::MakeSpan(one))
                    .ok());
    EXPECT_EQ(one, std::vector<int32_t>(batch.begin() + i * 10, batch.begin() + (i + 1) * 10));
  }
}

TEST(CpuBackendTest, RejectsBadBatchShapes) {
  auto model = Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 2})));
  ASSERT_TRUE(model.ok());
  auto cpu = CpuAccelerator::Create(*model, {.max_batch_size = 4});
  ASSERT_TRUE(cpu.ok());
  std::vector<uint8_t> images(5 * 784);
  std::vector<int32_t> scores(5 * 10);
  auto run = [&](size_t image_bytes, size_t score_count) {
    return (*cpu)->Run(absl::MakeConstSpan(images).subspan(0, image_bytes),
                       absl::MakeSpan(scores).subspan(0, score_count));
  };
  EXPECT_EQ(run(0, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(783, 10).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run(5 * 784, 50).code(), absl::StatusCode::kInvalidArgument);  // over max batch
  EXPECT_EQ(run(2 * 784, 10).code(), absl::StatusCode::kInvalidArgument);  // scores too short
  EXPECT_THAT(std::string(run(2 * 784, 10).message()), ::testing::HasSubstr("expected 20"));
  EXPECT_TRUE(run(4 * 784, 40).ok());
}

TEST(CpuBackendTest, ForcesAKernelSetByNameAndRejectsUnknownOnes) {
  auto model = Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 2})));
  ASSERT_TRUE(model.ok());
  auto portable = CpuAccelerator::Create(*model, {.kernels = "portable"});
  ASSERT_TRUE(portable.ok()) << portable.status();
  EXPECT_EQ((*portable)->kernels_name(), "portable");
  auto best = CpuAccelerator::Create(*model, {});
  ASSERT_TRUE(best.ok());
  EXPECT_EQ((*best)->kernels_name(), cpu::SupportedKernelSets().back()->name);

  auto unknown = CpuAccelerator::Create(*model, {.kernels = "avx9000"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              ::testing::AllOf(::testing::HasSubstr("'avx9000' does not exist"),
                               ::testing::HasSubstr("portable")));
  // A set this build knows but this CPU may not run is refused by name when unsupported.
  for (std::string_view name : cpu::KnownKernelSetNames()) {
    auto forced = CpuAccelerator::Create(*model, {.kernels = std::string(name)});
    if (cpu::FindKernelSet(name) != nullptr) {
      EXPECT_TRUE(forced.ok()) << name;
    } else {
      EXPECT_EQ(forced.status().code(), absl::StatusCode::kInvalidArgument) << name;
      EXPECT_THAT(std::string(forced.status().message()),
                  ::testing::HasSubstr("is not supported by this CPU"));
    }
  }
}

TEST(CpuBackendTest, EnvironmentChoosesTheKernelSetWhenOptionsDoNot) {
  auto model = Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 2})));
  ASSERT_TRUE(model.ok());
  ASSERT_EQ(setenv("PYNQ_CPU_KERNELS", "portable", 1), 0);
  auto from_env = CpuAccelerator::Create(*model, {});
  auto explicit_set = CpuAccelerator::Create(
      *model, {.kernels = std::string(cpu::SupportedKernelSets().back()->name)});
  ASSERT_EQ(setenv("PYNQ_CPU_KERNELS", "bogus", 1), 0);
  auto bad_env = CpuAccelerator::Create(*model, {});
  ASSERT_EQ(unsetenv("PYNQ_CPU_KERNELS"), 0);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ((*from_env)->kernels_name(), "portable");
  ASSERT_TRUE(explicit_set.ok());
  EXPECT_EQ((*explicit_set)->kernels_name(), cpu::SupportedKernelSets().back()->name);
  EXPECT_EQ(bad_env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad_env.status().message()),
              ::testing::HasSubstr("$PYNQ_CPU_KERNELS"));
}

TEST(CpuBackendTest, CreateRejectsZeroBatch) {
  auto model = Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 2})));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(CpuAccelerator::Create(*model, {.max_batch_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::accel
