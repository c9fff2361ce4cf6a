// Preparing pictures on one core (Google Benchmark, single-threaded): what the daemon spends on the
// gRPC thread per picture of ClassifyRequest.encoded_images. The pictures are made here: a
// held-out MNIST digit as a 28x28 gray PNG, and photo-like JPEGs of a dark digit on uneven, noisy
// paper (tests/support/digit_pictures.h) at 640x480 and 1024x768; decoding alone is measured beside the
// whole preparation (decode + normalize) so the two parts can be told apart.
//
//   build/bench/preprocess_bench [--benchmark_filter=...] [--benchmark_repetitions=5]
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "accel/model/model.h"
#include "benchmark/benchmark.h"
#include "clients/image_io.h"
#include "preprocess/picture_decoder.h"
#include "preprocess/prepare.h"
#include "tests/support/digit_pictures.h"
#include "tests/support/picture_writer.h"

namespace {

using pynq::preprocess::DecodePicture;
using pynq::preprocess::PreparePicture;

struct Inputs {
  std::shared_ptr<const pynq::accel::Model> model;
  std::string png28;
  std::string jpeg640;
  std::string jpeg1024;
};

const Inputs& GetInputs() {
  static const Inputs* inputs = [] {
    auto* in = new Inputs;
    auto model = pynq::accel::Model::LoadFile(
        absl::StrCat(PYNQ_SOURCE_DIR, "/models/zoo/mnist-lenet5-int8.pim"));
    auto digits = pynq::clients::ReadImageFile(
        absl::StrCat(PYNQ_SOURCE_DIR, "/models/data/mnist-heldout-images.idx3-ubyte"));
    if (!model.ok() || !digits.ok()) std::abort();
    in->model = *model;
    pynq::testing::Rgba digit(28, 28, {0, 0, 0, 255});
    for (size_t p = 0; p < 784; ++p) {
      const uint8_t v = digits->image(0)[p];
      digit.pixels[p] = {v, v, v, 255};
    }
    auto png = pynq::testing::EncodePng(digit, {});
    auto jpeg640 = pynq::testing::MakeDigitPhoto(digits->image(0), 640, 480, 7);
    auto jpeg1024 = pynq::testing::MakeDigitPhoto(digits->image(0), 1024, 768, 7);
    if (!png.ok() || !jpeg640.ok() || !jpeg1024.ok()) std::abort();
    in->png28 = *png;
    in->jpeg640 = *jpeg640;
    in->jpeg1024 = *jpeg1024;
    return in;
  }();
  return *inputs;
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void Prepare(benchmark::State& state, const std::string Inputs::*picture) {
  const Inputs& in = GetInputs();
  for (auto _ : state) {
    auto input = PreparePicture(Bytes(in.*picture), *in.model, {});
    if (!input.ok()) {
      state.SkipWithError(input.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(input->pixels.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void Decode(benchmark::State& state, const std::string Inputs::*picture) {
  const Inputs& in = GetInputs();
  for (auto _ : state) {
    auto decoded = DecodePicture(Bytes(in.*picture), {.min_long_side = 1024});
    if (!decoded.ok()) {
      state.SkipWithError(decoded.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(decoded->image.pixels.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK_CAPTURE(Prepare, png_28x28, &Inputs::png28)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Decode, jpeg_640x480, &Inputs::jpeg640)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Prepare, jpeg_640x480, &Inputs::jpeg640)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Decode, jpeg_1024x768, &Inputs::jpeg1024)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Prepare, jpeg_1024x768, &Inputs::jpeg1024)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
