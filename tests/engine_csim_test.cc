// C simulation of the engine: the synthesizable top function nn_engine(), compiled with g++ and
// called with host pointers as its DDR, must give the CPU backend's scores bit for bit: for every
// test image of every shipped model (models/zoo.tsv), equal to its golden file too, and for random
// binarized and int8 models of random shapes.
#include "overlays/nn_engine/nn_engine.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model.h"
#include "accel/model/model_builder.h"
#include "gtest/gtest.h"
#include "overlays/nn_engine/timing_model.h"
#include "tests/support/source_dir.h"
#include "tests/support/test_data.h"
#include "tests/support/zoo_manifest.h"

namespace pynq::engine {
namespace {

using accel::Model;

std::vector<uint64_t> Words(absl::Span<const uint8_t> bytes, size_t min_words = 1) {
  std::vector<uint64_t> words(std::max(min_words, (bytes.size() + 7) / 8), 0);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

// The engine's DDR for one model, as host vectors.
struct EngineMemory {
  std::vector<uint64_t> program;
  std::vector<uint64_t> weights;
  std::vector<uint64_t> input;
  std::vector<uint64_t> output;
  EngineOutputs out;

  explicit EngineMemory(const Model& model)
      : program(Words(model.program_section())), weights(Words(model.weights_section())) {}

  void Call(uint32_t batch, uint32_t command, uint32_t tag) {
    nn_engine(program.data(), weights.data(), input.data(), output.data(), batch, command, tag,
              &out.status, &out.checksum, &out.id, &out.version, &out.caps);
  }
};

// Runs `images` (n back-to-back images) through the top function and returns n rows of scores,
// after checking the status, the trailer and the checksum register.
std::vector<int32_t> RunTop(EngineMemory& mem, const Model& model,
                            absl::Span<const uint8_t> images, uint32_t tag) {
  const auto image_bytes = static_cast<uint32_t>(model.input_bytes());
  const auto classes = static_cast<uint32_t>(model.num_classes());
  const auto n = static_cast<uint32_t>(images.size() / image_bytes);
  const uint32_t in_stride = InputStride(image_bytes);
  const uint32_t out_stride = OutputStride(classes);
  mem.input.assign(n * in_stride / 8, 0xDEADBEEFDEADBEEFull);
  for (uint32_t i = 0; i < n; ++i) {
    std::memcpy(reinterpret_cast<uint8_t*>(mem.input.data()) + i * in_stride,
                images.data() + i * image_bytes, image_bytes);
  }
  mem.output.assign(OutputBytes(n, classes) / 8, 0x5555555555555555ull);
  mem.Call(n, kCommandRun, tag);
  EXPECT_EQ(mem.out.status, kStatusOk);
  std::vector<int32_t> scores(n * classes);
  ScoresChecksum checksum(tag);
  for (uint32_t i = 0; i < n; ++i) {
    std::memcpy(&scores[i * classes],
                reinterpret_cast<const uint8_t*>(mem.output.data()) + i * out_stride, classes * 4);
    for (uint32_t c = 0; c < classes; ++c) checksum.Add(scores[i * classes + c]);
  }
  const uint32_t trailer = n * out_stride / 8;
  EXPECT_EQ(mem.output[trailer], (uint64_t{n} << 32) | tag);
  EXPECT_EQ(mem.output[trailer + 1], checksum.Value());
  EXPECT_EQ(mem.out.checksum, checksum.Value());
  return scores;
}

std::vector<int32_t> RunCpu(std::shared_ptr<const Model> model, absl::Span<const uint8_t> images) {
  const size_t n = images.size() / model->input_bytes();
  auto cpu = accel::CpuAccelerator::Create(model, {.max_batch_size = n});
  EXPECT_TRUE(cpu.ok()) << cpu.status();
  std::vector<int32_t> scores(n * model->num_classes());
  absl::Status status = (*cpu)->Run(images, absl::MakeSpan(scores));
  EXPECT_TRUE(status.ok()) << status;
  return scores;
}

TEST(EngineCsimTest, HeldOutImagesMatchCpuBackendAndGolden) {
  auto model = Model::LoadFile(testing::ShippedModelPath("mnist-bnn-tfc"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto heldout = testing::ReadHeldOutSet("mnist-bnn-tfc");
  ASSERT_TRUE(heldout.ok()) << heldout.status();
  ASSERT_EQ(heldout->images.count, 2000u);

  EngineMemory mem(**model);
  const absl::Span<const uint8_t> all(heldout->images.pixels);
  std::vector<int32_t> engine;
  constexpr size_t kBatch = 250;
  for (size_t first = 0; first < heldout->images.count; first += kBatch) {
    std::vector<int32_t> part =
        RunTop(mem, **model, all.subspan(first * 784, kBatch * 784), static_cast<uint32_t>(first));
    engine.insert(engine.end(), part.begin(), part.end());
  }
  EXPECT_EQ(engine, RunCpu(*model, all));
  EXPECT_EQ(engine, heldout->golden.values);
}

// Uniform integers from a fixed seed, for the random models' shapes and images.
class RandomSource {
 public:
  explicit RandomSource(uint32_t seed) : rng_(seed) {}
  uint32_t operator()(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  std::vector<uint8_t> Images(const Model& model, uint32_t batch) {
    std::vector<uint8_t> images(batch * model.input_bytes());
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng_());
    return images;
  }

 private:
  std::mt19937 rng_;
};

// Runs a batch of random images of `model` on the engine and the CPU backend; `what` describes the
// model for the failure message.
void ExpectEngineMatchesCpu(const std::shared_ptr<const Model>& model, RandomSource& uniform,
                            uint32_t tag, const std::string& what) {
  const std::vector<uint8_t> images = uniform.Images(*model, uniform(1, 17));
  EngineMemory mem(*model);
  EXPECT_EQ(RunTop(mem, *model, images, tag), RunCpu(model, images)) << what;
}

// Every test image of every shipped model, binarized and int8 (MNIST held-out 2,000, Fashion-MNIST
// test 10,000), in batches of 500: engine == CPU backend == golden, bit for bit.
TEST(EngineCsimTest, EveryShippedModelMatchesCpuBackendAndGoldenOnItsWholeTestSet) {
  absl::StatusOr<std::vector<testing::ZooEntry>> zoo =
      testing::ReadZooManifest(testing::SourceDir() + "/models");
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  ASSERT_EQ(zoo->size(), 6u);
  for (const testing::ZooEntry& entry : *zoo) {
    SCOPED_TRACE(entry.name);
    auto model = Model::LoadFile(entry.model_path);
    ASSERT_TRUE(model.ok()) << model.status();
    auto set = testing::ReadTestSet(entry);
    ASSERT_TRUE(set.ok()) << set.status();
    ASSERT_EQ(set->golden.rows, set->images.count);

    EngineMemory mem(**model);
    const size_t image_bytes = (*model)->input_bytes();
    const absl::Span<const uint8_t> all(set->images.pixels);
    std::vector<int32_t> engine;
    constexpr size_t kBatch = 500;
    for (size_t first = 0; first < set->images.count; first += kBatch) {
      const size_t n = std::min(kBatch, set->images.count - first);
      std::vector<int32_t> part = RunTop(mem, **model, all.subspan(first * image_bytes, n * image_bytes),
                                         static_cast<uint32_t>(first));
      engine.insert(engine.end(), part.begin(), part.end());
    }
    EXPECT_TRUE(engine == RunCpu(*model, all)) << "engine scores differ from the CPU backend";
    EXPECT_TRUE(engine == set->golden.values) << "engine scores differ from " << entry.golden_path;
  }
}

// Random int8 models (fixed seeds): dense, convolution and pooling stages of random sizes, with
// and without ReLU, rows that do not start on a weight-word boundary, kernels 1..7, windows 2..4.
TEST(EngineCsimTest, RandomInt8ModelsMatchCpuBackend) {
  RandomSource uniform(20261122);
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    accel::RandomInt8Options options{.seed = seed};
    uint32_t c = uniform(1, 3);
    uint32_t h = uniform(4, 24);
    uint32_t w = uniform(4, 24);
    options.input = {c, h, w};
    options.stages.clear();
    std::string stages;
    // Spatial stages while the tensor allows them, then dense ones.
    const uint32_t spatial = uniform(0, 3);
    for (uint32_t s = 0; s < spatial; ++s) {
      if (uniform(0, 1) == 0) {
        const uint32_t k = uniform(1, std::min<uint32_t>({7, h, w}));
        const uint32_t oc = uniform(1, 8);
        if (oc * (h - k + 1) * (w - k + 1) > kMaxFeatures) break;
        options.stages.push_back(accel::Int8Conv(oc, static_cast<int32_t>(k), uniform(0, 1) == 1));
        c = oc;
        h = h - k + 1;
        w = w - k + 1;
        stages += " conv" + std::to_string(oc) + "k" + std::to_string(k);
      } else {
        const uint32_t p = uniform(2, 4);
        if (h % p != 0 || w % p != 0) continue;
        options.stages.push_back(accel::Int8Pool(static_cast<int32_t>(p)));
        h /= p;
        w /= p;
        stages += " pool" + std::to_string(p);
      }
    }
    const uint32_t dense = uniform(0, 2);
    for (uint32_t d = 0; d < dense; ++d) {
      const uint32_t outputs = uniform(0, 4) == 0 ? uniform(300, 1200) : uniform(1, 130);
      options.stages.push_back(accel::Int8Dense(outputs, uniform(0, 1) == 1));
      stages += " dense" + std::to_string(outputs);
    }
    options.num_classes = uniform(2, 40);
    auto model = Model::FromBytes(accel::SerializeModel(accel::RandomInt8Spec(options)));
    ASSERT_TRUE(model.ok()) << model.status() << " seed " << seed << stages;

    ExpectEngineMatchesCpu(*model, uniform, static_cast<uint32_t>(seed),
                           absl::StrCat("seed ", seed, ", input ", options.input.c, "x",
                                        options.input.h, "x", options.input.w, ",", stages, ", ",
                                        options.num_classes, " classes"));
  }
}

TEST(EngineCsimTest, RandomModelsOfRandomShapesMatchCpuBackend) {
  RandomSource uniform(20261121);
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    accel::RandomBnnOptions options{.seed = seed};
    options.input = {uniform(1, 3), uniform(1, 24), uniform(1, 24)};
    options.hidden.clear();
    const uint32_t hidden_layers = uniform(0, 3);
    for (uint32_t l = 0; l < hidden_layers; ++l) {
      // Mostly small, sometimes wide; word boundaries (63, 64, 65) come up often enough.
      options.hidden.push_back(uniform(0, 4) == 0 ? uniform(500, 1500) : uniform(1, 200));
    }
    options.num_classes = uniform(2, 40);
    options.binarize_threshold = static_cast<int32_t>(uniform(1, 255));
    auto model = Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec(options)));
    ASSERT_TRUE(model.ok()) << model.status();

    ExpectEngineMatchesCpu(*model, uniform, static_cast<uint32_t>(seed),
                           absl::StrCat("seed ", seed, ", input ", options.input.c, "x",
                                        options.input.h, "x", options.input.w, ", ", hidden_layers,
                                        " hidden layers, ", options.num_classes, " classes"));
  }
}

class EngineProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec({.seed = 3})));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    mem_ = std::make_unique<EngineMemory>(*model_);
    mem_->input.assign(InputStride(784) / 8, 0);
    mem_->output.assign(OutputBytes(1, 10) / 8, kUntouched);
  }

  // Layer descriptor `layer`, word `word` of the program (see program.h).
  uint64_t& Descriptor(uint32_t layer, uint32_t word) {
    return mem_->program[kProgramHeaderWords + layer * kLayerWords + word];
  }

  bool OutputUntouched() const {
    for (uint64_t w : mem_->output) {
      if (w != kUntouched) return false;
    }
    return true;
  }

  static constexpr uint64_t kUntouched = 0x0123456789ABCDEFull;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<EngineMemory> mem_;
};

TEST_F(EngineProtocolTest, IdentifyReportsIdVersionAndCapsAndTouchesNoMemory) {
  mem_->Call(0, kCommandIdentify, 0);
  EXPECT_EQ(mem_->out.status, kStatusOk);
  EXPECT_EQ(mem_->out.id, 0x504E4E45u);
  EXPECT_EQ(mem_->out.version >> 16, 1u);
  EXPECT_EQ(CapsOpMask(mem_->out.caps), 0b111111110u);  // ops 1..8, all of ABI v1
  EXPECT_EQ(CapsPe(mem_->out.caps), DefaultEngineConfig::kPe);
  EXPECT_EQ(CapsSimd(mem_->out.caps), DefaultEngineConfig::kSimd);
  EXPECT_TRUE(OutputUntouched());
}

TEST_F(EngineProtocolTest, CheckValidatesWithoutWritingScores) {
  mem_->Call(0, kCommandCheck, 0);
  EXPECT_EQ(mem_->out.status, kStatusOk);
  EXPECT_TRUE(OutputUntouched());
}

TEST_F(EngineProtocolTest, RejectsUnimplementedOpsNamingLayerAndOp) {
  for (uint32_t op : {0u, 9u, 15u, 99u}) {
    const uint64_t saved = Descriptor(1, 0);
    Descriptor(1, 0) = op;
    for (uint32_t command : {kCommandCheck, kCommandRun}) {
      mem_->Call(1, command, 0);
      EXPECT_EQ(StatusCode(mem_->out.status), kStatusUnsupportedOp) << "op " << op;
      EXPECT_EQ(StatusLayer(mem_->out.status), 1u);
      EXPECT_EQ(StatusOp(mem_->out.status), op);
      EXPECT_TRUE(OutputUntouched());
    }
    Descriptor(1, 0) = saved;
  }
}

// An op's code as a descriptor word holds it.
constexpr uint64_t Code(Op op) { return static_cast<uint64_t>(op); }

TEST_F(EngineProtocolTest, RejectsProgramsBeyondItsBuffers) {
  struct Case {
    const char* name;
    uint32_t layer;
    uint32_t word;
    uint64_t value;
    uint32_t code;
  };
  const Case cases[] = {
      {"no layers", 0, 0, 0, kStatusBadProgram},  // descriptor 0 word 0 - see below
      {"flags set", 1, 0, Code(Op::kBnnDense) | (uint64_t{1} << 32), kStatusBadProgram},
      {"reserved set", 1, 7, uint64_t{1} << 32, kStatusBadProgram},
      // out (4097, 1, 1): wider than the activation buffers
      {"too wide", 1, 2, 784 | (uint64_t{4097} << 32), kStatusBadShape},
      // layer 2's input (65) is not layer 1's output (64)
      {"not chained", 2, 1, 65 | (uint64_t{1} << 32), kStatusBadShape},
      // int8 ops on bits, an int8 scores layer after binarized layers, a second input op
      {"int8 dense on bits", 1, 0, Code(Op::kInt8Dense), kStatusBadShape},
      {"int8 scores on bits", 2, 0, Code(Op::kInt8DenseScores), kStatusBadShape},
      {"input op inside", 1, 0, Code(Op::kInputQuantize), kStatusBadShape},
  };
  for (const Case& c : cases) {
    const std::vector<uint64_t> saved = mem_->program;
    if (std::string(c.name) == "no layers") {
      mem_->program[0] = 0;
    } else {
      Descriptor(c.layer, c.word) = c.value;
    }
    mem_->Call(1, kCommandRun, 0);
    EXPECT_EQ(StatusCode(mem_->out.status), c.code) << c.name;
    EXPECT_TRUE(OutputUntouched()) << c.name;
    mem_->program = saved;
  }
  mem_->program[0] = kMaxLayers + 1;
  mem_->Call(1, kCommandCheck, 0);
  EXPECT_EQ(StatusCode(mem_->out.status), kStatusBadProgram);
}

TEST_F(EngineProtocolTest, RejectsBadBatchAndCommand) {
  mem_->Call(0, kCommandRun, 0);
  EXPECT_EQ(StatusCode(mem_->out.status), kStatusBadBatch);
  mem_->Call(kMaxBatch + 1, kCommandRun, 0);
  EXPECT_EQ(StatusCode(mem_->out.status), kStatusBadBatch);
  mem_->Call(1, 7, 0);
  EXPECT_EQ(StatusCode(mem_->out.status), kStatusBadCommand);
  EXPECT_TRUE(OutputUntouched());
}

// The timing model's formula (timing_model.h) on one layer, worked by hand.
TEST(TimingModelTest, DenseLayerIsBoundByTheLargerOfComputeAndWeightStream) {
  const LayerDesc layer{.op = Op::kBnnDense, .n_in = 784, .n_out = 64};
  // PE 8, SIMD 2, 64-bit port: 8 tiles; compute ceil(13/2) = 7 < stream 8 rows * 13 words = 104.
  // Each tile: 104 + 32 (burst) + 8 (pipeline) + 8 (rows); plus 8 to clear.
  EXPECT_EQ((LayerCycles<EngineConfig<8, 2, 1>>(layer)), 8u + 8 * (104 + 32 + 8 + 8));
  // PE 1, SIMD 1, 256-bit port: 64 tiles; compute 13 > stream ceil(13/4) = 4.
  EXPECT_EQ((LayerCycles<EngineConfig<1, 1, 4>>(layer)), 8u + 64 * (13 + 32 + 8 + 1));
  const LayerDesc binarize{.op = Op::kInputBinarize, .n_in = 784, .n_out = 784};
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(binarize), 8u + 98 + 32);
  const LayerDesc layers[] = {binarize, layer};
  EXPECT_EQ(CallCycles<DefaultEngineConfig>(layers, 2, 0, kCommandIdentify), 16u);
  EXPECT_EQ(CallCycles<DefaultEngineConfig>(layers, 2, 3, kCommandRun),
            16u + (2 + 16 + 32) + 3 * ((138 + 1224) + 32 + 32) + 8 + 32);
}

// The int8 layers' formulas (timing_model.h), worked by hand.
TEST(TimingModelTest, Int8LayersFollowTheirFormulas) {
  const LayerDesc quantize{.op = Op::kInputQuantize, .n_in = 784, .n_out = 784};
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(quantize), 98u + 32);
  // 84 inputs: rows start on and off word boundaries, straddling 11 words each (84 / 8 = 10.5).
  const LayerDesc dense{.op = Op::kInt8Dense, .n_in = 84, .n_out = 2};
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(dense), (3u * 2 + 32) + 2 * (11 + 32 + 8));
  const LayerDesc scores{.op = Op::kInt8DenseScores, .n_in = 16, .n_out = 3};
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(scores), 3u * (2 + 32 + 8 + 32));
  // 1x28x28 -> 6x24x24, K 5: 25 taps, 4 cycles each at 8 lanes; each kernel straddles 4 words.
  const LayerDesc conv{.op = Op::kInt8Conv, .in_c = 1, .in_h = 28, .in_w = 28, .out_c = 6,
                       .out_h = 24, .out_w = 24, .n_in = 784, .n_out = 3456, .arg0 = 5};
  uint64_t kernel_words = 0;
  for (uint64_t o = 0; o < 6; ++o) kernel_words += (o * 25 + 25 + 7) / 8 - o * 25 / 8;
  EXPECT_EQ(kernel_words, 6u * 4);
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(conv),
            25u + (18 + 32) + kernel_words + 6 * 32 + 6 * 576 * (4 + 8));
  const LayerDesc pool{.op = Op::kMaxPool, .n_in = 3456, .n_out = 864, .arg0 = 2};
  EXPECT_EQ(LayerCycles<DefaultEngineConfig>(pool), 864u * 6);
}

}  // namespace
}  // namespace pynq::engine
