// C simulation of the engine: its HLS C++ compiled with g++ and called with host arrays as its DDR
// and store must give the CPU backend's scores bit for bit, resident (LOAD, then RUN) and
// streamed (tiles loaded during the RUN): for every test image of every shipped model
// (models/zoo.tsv), equal to its golden file too, and for random binarized and int8 models of
// random shapes on the PYNQ-Z2 and KV260 builds and on a build with a tiny stream region, which
// cuts most layers into tiles. Every call's cycles, as the C simulation counted them while the
// code ran, must equal timing_model.h's. The register protocol (LOAD, resident slots, keys,
// regions) and the top function nn_engine() are checked here too.
#include "overlays/nn_engine/nn_engine.h"

#include <cstdio>
#include <cstring>
#include <memory>
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

// A store of 192 rows, 128 of them the stream region: random models' wide layers come in several
// tiles each.
using TinyStreamConfig = EngineConfig<1, 192, 128, 72, 16>;
// A stream region with params for 16 channels: convolutions of more channels come in tiles of 16,
// with the pools after them, and dense layers in tiles of 16 rows (binarized ones, whose tiles are
// 64 rows, cannot be streamed).
using TinyParamsConfig = EngineConfig<1, 1024, 512, 72, 4>;

std::vector<uint64_t> Words(absl::Span<const uint8_t> bytes) {
  std::vector<uint64_t> words(std::max<size_t>(1, (bytes.size() + 7) / 8), 0);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return words;
}

// The WeightsChecksum of a model as abi/memory_layout.h defines it, from the model file.
uint32_t ExpectedWeightsChecksum(const Model& model) {
  WeightsChecksum sum;
  const absl::Span<const uint8_t> section = model.weights_section();
  for (const accel::Layer& layer : model.layers()) {
    if (!HasWeights(layer.op)) continue;
    for (uint32_t w = 0; w < (layer.weights_bytes + 7) / 8; ++w) {
      uint64_t word = 0;
      std::memcpy(&word, section.data() + layer.weights_offset + 8 * w, 8);
      sum.AddWord(word);
    }
    for (uint32_t i = 0; i < layer.params_bytes / 4; ++i) {
      int32_t param = 0;
      std::memcpy(&param, section.data() + layer.params_offset + 4 * i, 4);
      sum.AddParam(param);
    }
  }
  return sum.Value();
}

// One engine of configuration Config with its own store, and a model's sections in its "DDR".
// Every call checks its counted cycles against the timing model.
template <typename Config>
class Engine {
 public:
  explicit Engine(const Model& model) { Use(model); }

  // Puts another model's sections in DDR; the store keeps what it holds.
  void Use(const Model& model) {
    program_ = Words(model.program_section());
    weights_ = Words(model.weights_section());
    Clock unused;
    EXPECT_EQ(ReadProgram<Config>(program_.data(), layers_, count_, unused), kStatusOk);
  }

  EngineOutputs Call(const CallArguments& args) {
    EngineOutputs out;
    Clock clock;
    RunEngine<Config>(program_.data(), weights_.data(), input_.data(), output_.data(),
                      scratch_.data(), args, *store_, out, clock);
    cycles_ = clock.cycles();
    return out;
  }

  EngineOutputs Load(uint32_t slot, uint32_t key, uint32_t weights_base = 0,
                     uint32_t params_base = 0) {
    CallArguments args;
    args.command = kCommandLoad;
    args.slot = slot;
    args.key = key;
    args.weights_base = weights_base;
    args.params_base = params_base;
    const EngineOutputs out = Call(args);
    if (StatusCode(out.status) == kStatusOk) {
      EXPECT_EQ(cycles_, CallCycles<Config>(layers_, count_, kCommandLoad, 0, true));
    }
    return out;
  }

  // Runs `images` (back to back) resident in `slot` under `key`, or streamed, checks the status,
  // the trailer, the checksum and the cycles, and returns the scores.
  std::vector<int32_t> Run(const Model& model, absl::Span<const uint8_t> images, bool resident,
                           uint32_t tag, uint32_t slot = 0, uint32_t key = 1,
                           uint32_t weights_base = 0, uint32_t params_base = 0) {
    const auto image_bytes = static_cast<uint32_t>(model.input_bytes());
    const auto classes = static_cast<uint32_t>(model.num_classes());
    const auto n = static_cast<uint32_t>(images.size() / image_bytes);
    const uint32_t in_stride = InputStride(image_bytes);
    const uint32_t out_stride = OutputStride(classes);
    input_.assign(n * in_stride / 8, 0xDEADBEEFDEADBEEFull);
    for (uint32_t i = 0; i < n; ++i) {
      std::memcpy(reinterpret_cast<uint8_t*>(input_.data()) + i * in_stride,
                  images.data() + i * image_bytes, image_bytes);
    }
    output_.assign(OutputBytes(n, classes) / 8, 0x5555555555555555ull);
    scratch_.assign(resident ? 1 : ScratchBytes(n) / 8, 0x7777777777777777ull);
    CallArguments args;
    args.batch = n;
    args.command = kCommandRun;
    args.tag = tag;
    args.slot = resident ? slot : kSlotStreamed;
    args.key = key;
    args.weights_base = weights_base;
    args.params_base = params_base;
    last_ = Call(args);
    EXPECT_EQ(last_.status, kStatusOk);
    EXPECT_EQ(cycles_, CallCycles<Config>(layers_, count_, kCommandRun, n, resident))
        << (resident ? "resident" : "streamed") << " RUN of " << n << " images";
    std::vector<int32_t> scores(n * classes);
    ScoresChecksum checksum(tag);
    for (uint32_t i = 0; i < n; ++i) {
      std::memcpy(&scores[i * classes],
                  reinterpret_cast<const uint8_t*>(output_.data()) + i * out_stride, classes * 4);
      for (uint32_t c = 0; c < classes; ++c) checksum.Add(scores[i * classes + c]);
    }
    const uint32_t trailer = n * out_stride / 8;
    EXPECT_EQ(output_[trailer], (uint64_t{n} << 32) | tag);
    EXPECT_EQ(output_[trailer + 1], checksum.Value());
    EXPECT_EQ(last_.checksum, checksum.Value());
    return scores;
  }

  const LayerDesc* layers() const { return layers_; }
  uint32_t count() const { return count_; }
  uint64_t cycles() const { return cycles_; }
  EngineStore<Config>& store() { return *store_; }

 private:
  std::vector<uint64_t> program_;
  std::vector<uint64_t> weights_;
  std::vector<uint64_t> input_ = std::vector<uint64_t>(1);
  std::vector<uint64_t> output_ = std::vector<uint64_t>(1);
  std::vector<uint64_t> scratch_ = std::vector<uint64_t>(1);
  std::unique_ptr<EngineStore<Config>> store_ = std::make_unique<EngineStore<Config>>();
  LayerDesc layers_[kMaxLayers];
  uint32_t count_ = 0;
  EngineOutputs last_;
  uint64_t cycles_ = 0;
};

std::vector<int32_t> RunCpu(std::shared_ptr<const Model> model, absl::Span<const uint8_t> images) {
  const size_t n = images.size() / model->input_bytes();
  auto cpu = accel::CpuAccelerator::Create(model, {.max_batch_size = n});
  EXPECT_TRUE(cpu.ok()) << cpu.status();
  std::vector<int32_t> scores(n * model->num_classes());
  absl::Status status = (*cpu)->Run(images, absl::MakeSpan(scores));
  EXPECT_TRUE(status.ok()) << status;
  return scores;
}

// Every test image of every shipped model, binarized and int8 (MNIST held-out 2,000,
// Fashion-MNIST test 10,000), in batches of 500, resident: engine == CPU backend == golden, bit
// for bit; and the LOAD's checksum is the model file's. Streamed on the first batch (the other
// tests run every path on random models).
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

    Engine<DefaultEngineConfig> engine(**model);
    const EngineOutputs loaded = engine.Load(3, 0xC0FFEE);
    ASSERT_EQ(loaded.status, kStatusOk);
    EXPECT_EQ(loaded.checksum, ExpectedWeightsChecksum(**model));
    const size_t image_bytes = (*model)->input_bytes();
    const absl::Span<const uint8_t> all(set->images.pixels);
    std::vector<int32_t> resident;
    constexpr size_t kBatch = 500;
    for (size_t first = 0; first < set->images.count; first += kBatch) {
      const size_t n = std::min(kBatch, set->images.count - first);
      const absl::Span<const uint8_t> batch = all.subspan(first * image_bytes, n * image_bytes);
      std::vector<int32_t> part =
          engine.Run(**model, batch, true, static_cast<uint32_t>(first), 3, 0xC0FFEE);
      resident.insert(resident.end(), part.begin(), part.end());
      if (first == 0) {
        EXPECT_TRUE(engine.Run(**model, batch, false, 7) == part) << "streamed != resident";
      }
    }
    EXPECT_TRUE(resident == RunCpu(*model, all)) << "engine scores differ from the CPU backend";
    EXPECT_TRUE(resident == set->golden.values)
        << "engine scores differ from " << entry.golden_path;
  }
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

// What the random models made the tiny-stream build do, so the tests can tell that they covered
// the streamed path's corners.
struct StreamCoverage {
  int tiled_stages = 0;       // stages cut into more than one tile
  int tiled_scores = 0;       // scores layers cut into tiles (the checksum read back)
  int tiled_conv_pools = 0;   // convolutions in tiles with a MAXPOOL after them
  int too_large = 0;
};

// Runs `images` streamed on an engine of Config, or expects kStatusTooLarge where a layer cannot
// be tiled into its region; counts the corners it went through.
template <typename Config>
void ExpectStreamedMatchesCpu(const Model& model, absl::Span<const uint8_t> images,
                              const std::vector<int32_t>& cpu, uint32_t tag,
                              StreamCoverage& coverage) {
  Engine<Config> tiny(model);
  CallArguments check;
  check.command = kCommandCheck;
  const EngineOutputs checked = tiny.Call(check);
  if (StatusCode(checked.status) != kStatusOk) {
    EXPECT_EQ(StatusCode(checked.status), kStatusTooLarge);
    EXPECT_EQ(StreamTileUnits<Config>(tiny.layers()[StatusLayer(checked.status)]), 0u);
    ++coverage.too_large;
    return;
  }
  EXPECT_EQ(tiny.Run(model, images, false, tag), cpu) << "small stream region";
  ProgramPlan plan;
  Clock unused;
  PlanProgram<Config>(tiny.layers(), tiny.count(), plan, unused);
  for (uint32_t k = 0; k < plan.stage_count; ++k) {
    const Stage& stage = plan.stages[k];
    const LayerDesc& weighted = tiny.layers()[stage.weighted];
    if (StreamTileUnits<Config>(weighted) >= Units(weighted)) continue;
    ++coverage.tiled_stages;
    if (stage.last + 1 == tiny.count()) ++coverage.tiled_scores;
    if (weighted.op == Op::kInt8Conv && stage.last > stage.weighted) ++coverage.tiled_conv_pools;
  }
}

// Runs a batch of random images of `model` resident and streamed on the PYNQ-Z2 build, streamed
// on the two builds with small stream regions, and resident on the KV260 build; each must equal
// the CPU backend.
void ExpectEveryPathMatchesCpu(const std::shared_ptr<const Model>& model, RandomSource& uniform,
                               uint32_t tag, const std::string& what, StreamCoverage& coverage) {
  SCOPED_TRACE(what);
  const std::vector<uint8_t> images = uniform.Images(*model, uniform(1, 17));
  const std::vector<int32_t> cpu = RunCpu(model, images);

  Engine<DefaultEngineConfig> pynq_z2(*model);
  const EngineOutputs loaded = pynq_z2.Load(0, 1);
  if (loaded.status == kStatusOk) {
    EXPECT_EQ(loaded.checksum, ExpectedWeightsChecksum(*model));
    EXPECT_EQ(pynq_z2.Run(*model, images, true, tag), cpu) << "PYNQ-Z2 resident";
  } else {
    // Too big to be resident: LOAD says so, and says why.
    EXPECT_EQ(StatusCode(loaded.status), kStatusBadRegion);
    EXPECT_TRUE(loaded.need_rows > DefaultEngineConfig::kResidentRows ||
                loaded.need_params > DefaultEngineConfig::kResidentParamRows);
  }
  EXPECT_EQ(pynq_z2.Run(*model, images, false, tag), cpu) << "PYNQ-Z2 streamed";

  ExpectStreamedMatchesCpu<TinyStreamConfig>(*model, images, cpu, tag, coverage);
  ExpectStreamedMatchesCpu<TinyParamsConfig>(*model, images, cpu, tag, coverage);

  Engine<Kv260EngineConfig> kv260(*model);
  ASSERT_EQ(kv260.Load(0, 1).status, kStatusOk) << "needs " << kv260.Load(0, 1).need_rows;
  EXPECT_EQ(kv260.Run(*model, images, true, tag), cpu) << "KV260 resident";
}

// Random int8 models (fixed seeds): dense, convolution and pooling stages of random sizes, with
// and without ReLU, rows that do not start on a weight-word boundary, kernels 1..7, windows 2..4.
TEST(EngineCsimTest, RandomInt8ModelsMatchCpuBackendOnEveryPath) {
  RandomSource uniform(20261122);
  StreamCoverage coverage;
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
        const uint32_t oc = uniform(1, 40);
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
    ExpectEveryPathMatchesCpu(*model, uniform, static_cast<uint32_t>(seed),
                              absl::StrCat("seed ", seed, ", input ", options.input.c, "x",
                                           options.input.h, "x", options.input.w, ",", stages,
                                           ", ", options.num_classes, " classes"),
                              coverage);
  }
  EXPECT_GE(coverage.tiled_stages, 10);
  std::printf("random int8 models on the small stream regions: %d stages tiled, %d scores layers "
              "tiled, %d convolutions tiled before a pool, %d too large\n",
              coverage.tiled_stages, coverage.tiled_scores, coverage.tiled_conv_pools,
              coverage.too_large);
}

TEST(EngineCsimTest, RandomBinarizedModelsMatchCpuBackendOnEveryPath) {
  RandomSource uniform(20261121);
  StreamCoverage coverage;
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
    ExpectEveryPathMatchesCpu(*model, uniform, static_cast<uint32_t>(seed),
                              absl::StrCat("seed ", seed, ", input ", options.input.c, "x",
                                           options.input.h, "x", options.input.w, ", ",
                                           hidden_layers, " hidden layers, ",
                                           options.num_classes, " classes"),
                              coverage);
  }
  EXPECT_GE(coverage.tiled_stages, 10);
  std::printf("random binarized models on the small stream regions: %d stages tiled, %d scores "
              "layers tiled, %d too large\n",
              coverage.tiled_stages, coverage.tiled_scores, coverage.too_large);
}

// The corners of a streamed call that random models rarely reach: a scores layer in tiles (the
// checksum then read back from DDR), binarized and int8; a convolution in tiles with a pool
// after it; every layer of a model in tiles.
TEST(EngineCsimTest, StreamedCornersMatchCpuBackend) {
  RandomSource uniform(20261123);
  StreamCoverage coverage;
  // 1152 bits in, 700 hidden, 300 classes: both layers in tiles of 64 and 176 rows.
  auto bnn = Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec(
      {.seed = 11, .input = {2, 24, 24}, .hidden = {700}, .num_classes = 300})));
  ASSERT_TRUE(bnn.ok()) << bnn.status();
  ExpectEveryPathMatchesCpu(*bnn, uniform, 1, "binarized 1152-700-300", coverage);
  // 24 then 20 channels of convolution, a pool after the first; 50 dense rows, 120 classes.
  auto int8 = Model::FromBytes(accel::SerializeModel(accel::RandomInt8Spec(
      {.seed = 12,
       .input = {1, 14, 14},
       .stages = {accel::Int8Conv(24, 3), accel::Int8Pool(2), accel::Int8Conv(20, 3, false),
                  accel::Int8Dense(50)},
       .num_classes = 120})));
  ASSERT_TRUE(int8.ok()) << int8.status();
  ExpectEveryPathMatchesCpu(*int8, uniform, 2, "int8 conv24 pool2 conv20 dense50, 120 classes",
                            coverage);
  EXPECT_GE(coverage.tiled_scores, 3);
  EXPECT_GE(coverage.tiled_conv_pools, 1);
  EXPECT_GE(coverage.tiled_stages, 6);
}

std::shared_ptr<const Model> ZooModel(const std::string& name) {
  auto model = Model::LoadFile(testing::ShippedModelPath(name));
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

TEST(EngineStoreTest, IdentifyAndCheckReportTheStoreAndWhatTheProgramNeeds) {
  auto model = ZooModel("mnist-bnn-tfc");
  Engine<DefaultEngineConfig> engine(*model);
  CallArguments args;
  args.command = kCommandIdentify;
  EngineOutputs out = engine.Call(args);
  EXPECT_EQ(out.store_rows, DefaultEngineConfig::kResidentRows);
  EXPECT_EQ(out.store_params, DefaultEngineConfig::kResidentParamRows);
  EXPECT_EQ(engine.cycles(), kCallOverheadCycles);
  args.command = kCommandCheck;
  out = engine.Call(args);
  EXPECT_EQ(out.status, kStatusOk);
  // 784 -> 64: 4 groups of 16 rows x 13 words; 64 -> 10: 1 group x 1 word. Params: 16 + 3 rows.
  EXPECT_EQ(out.need_rows, 4u * 13 + 1);
  EXPECT_EQ(out.need_params, 16u + 3);
  EXPECT_EQ(engine.cycles(), CallCycles<DefaultEngineConfig>(engine.layers(), engine.count(),
                                                             kCommandCheck, 0, true));
}

TEST(EngineStoreTest, ARunNeedsItsOwnResidentCopy) {
  auto bnn = ZooModel("mnist-bnn-tfc");
  auto mlp = ZooModel("mnist-int8-mlp");
  Engine<DefaultEngineConfig> engine(*bnn);
  std::vector<uint8_t> image(784);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 37);
  const std::vector<int32_t> cpu = RunCpu(bnn, image);
  // Never loaded.
  CallArguments run;
  run.command = kCommandRun;
  run.batch = 1;
  run.slot = 2;
  run.key = 42;
  EXPECT_EQ(StatusCode(engine.Call(run).status), kStatusNotResident);
  ASSERT_EQ(engine.Load(2, 42, 100, 10).status, kStatusOk);
  // A RUN must name the slot, the key and the bases of the copy.
  run.weights_base = 100;
  run.params_base = 10;
  EXPECT_EQ(engine.Run(*bnn, image, true, 1, 2, 42, 100, 10), cpu);
  for (auto [slot, key, base] : {std::tuple{2u, 41u, 100u}, std::tuple{3u, 42u, 100u},
                                 std::tuple{2u, 42u, 101u}, std::tuple{2u, 0u, 100u}}) {
    CallArguments wrong = run;
    wrong.slot = slot;
    wrong.key = key;
    wrong.weights_base = base;
    EXPECT_EQ(StatusCode(engine.Call(wrong).status), kStatusNotResident)
        << "slot " << slot << " key " << key << " base " << base;
  }
  // Another program loaded over some of its rows makes it not resident; elsewhere it does not.
  engine.Use(*mlp);
  ASSERT_EQ(engine.Load(5, 7, 0, 0).status, kStatusOk);  // rows 0 .. 855 cover 100 .. 152
  engine.Use(*bnn);
  EXPECT_EQ(StatusCode(engine.Call(run).status), kStatusNotResident);
  ASSERT_EQ(engine.Load(2, 43, 1000, 100).status, kStatusOk);
  engine.Use(*mlp);
  ASSERT_EQ(engine.Load(5, 8, 0, 0).status, kStatusOk);
  engine.Use(*bnn);
  EXPECT_EQ(engine.Run(*bnn, image, true, 2, 2, 43, 1000, 100), cpu);
  // A reset forgets every copy.
  engine.store().ForgetResidents();
  run.key = 43;
  run.weights_base = 1000;
  run.params_base = 100;
  EXPECT_EQ(StatusCode(engine.Call(run).status), kStatusNotResident);
}

TEST(EngineStoreTest, LoadRefusesSlotsKeysAndRowsOutOfRange) {
  auto mlp = ZooModel("mnist-int8-mlp");  // 856 rows, 51 params rows
  Engine<DefaultEngineConfig> engine(*mlp);
  const uint32_t rows = DefaultEngineConfig::kResidentRows;
  const uint32_t params = DefaultEngineConfig::kResidentParamRows;
  struct Case {
    uint32_t slot, key, weights_base, params_base;
  };
  for (const Case& c : {Case{kResidentSlots, 1, 0, 0}, Case{0, 0, 0, 0},
                        Case{0, 1, rows - 855, 0}, Case{0, 1, 0, params - 50},
                        Case{0, 1, 0xFFFFFFFFu, 0}}) {
    EXPECT_EQ(StatusCode(engine.Load(c.slot, c.key, c.weights_base, c.params_base).status),
              kStatusBadRegion)
        << c.slot << " " << c.key << " " << c.weights_base << " " << c.params_base;
  }
  EXPECT_EQ(engine.Load(0, 1, rows - 856, params - 51).status, kStatusOk);
  CallArguments run;
  run.command = kCommandRun;
  run.batch = 1;
  run.slot = kResidentSlots;
  EXPECT_EQ(StatusCode(engine.Call(run).status), kStatusBadRegion);
}

TEST(EngineStoreTest, ALayerThatCannotBeTiledIsTooLargeToStream) {
  // 1500 inputs per row: one group of 16 rows takes 188 store rows, past the 128-row region.
  auto model = Model::FromBytes(accel::SerializeModel(
      accel::RandomInt8Spec({.seed = 3, .input = {1, 30, 50}, .stages = {accel::Int8Dense(20)}})));
  ASSERT_TRUE(model.ok()) << model.status();
  Engine<TinyStreamConfig> engine(**model);
  CallArguments args;
  args.command = kCommandCheck;
  const EngineOutputs checked = engine.Call(args);
  EXPECT_EQ(StatusCode(checked.status), kStatusTooLarge);
  EXPECT_EQ(StatusLayer(checked.status), 1u);
  EXPECT_EQ(StatusOp(checked.status), static_cast<uint32_t>(Op::kInt8Dense));
  args.command = kCommandRun;
  args.batch = 1;
  args.slot = kSlotStreamed;
  EXPECT_EQ(StatusCode(engine.Call(args).status), kStatusTooLarge);
  EXPECT_TRUE(DefaultEngineConfig::kStreamsEveryDenseLayer);
  EXPECT_TRUE(Kv260EngineConfig::kStreamsEveryDenseLayer);
}

// The synthesizable top function itself, whose store is static: what Vitis HLS's csim runs.
class EngineProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec({.seed = 3})));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    program_ = Words(model_->program_section());
    weights_ = Words(model_->weights_section());
    input_.assign(InputStride(784) / 8, 0);
    output_.assign(OutputBytes(1, 10) / 8, kUntouched);
    scratch_.assign(ScratchBytes(1) / 8, 0);
  }

  void Call(uint32_t batch, uint32_t command, uint32_t slot = kSlotStreamed, uint32_t key = 0) {
    nn_engine(program_.data(), weights_.data(), input_.data(), output_.data(), batch, command, 0,
              &out_.status, &out_.checksum, &out_.id, &out_.version, &out_.caps, scratch_.data(),
              slot, key, 0, 0, &out_.store_rows, &out_.store_params, &out_.need_rows,
              &out_.need_params);
  }

  // Layer descriptor `layer`, word `word` of the program (see program.h).
  uint64_t& Descriptor(uint32_t layer, uint32_t word) {
    return program_[kProgramHeaderWords + layer * kLayerWords + word];
  }

  bool OutputUntouched() const {
    for (uint64_t w : output_) {
      if (w != kUntouched) return false;
    }
    return true;
  }

  static constexpr uint64_t kUntouched = 0x0123456789ABCDEFull;
  std::shared_ptr<const Model> model_;
  std::vector<uint64_t> program_, weights_, input_, output_, scratch_;
  EngineOutputs out_;
};

TEST_F(EngineProtocolTest, IdentifyReportsIdVersionCapsAndStoreAndTouchesNoMemory) {
  Call(0, kCommandIdentify);
  EXPECT_EQ(out_.status, kStatusOk);
  EXPECT_EQ(out_.id, 0x504E4E45u);
  EXPECT_EQ(out_.version, (1u << 16) | 2u);
  EXPECT_EQ(CapsOpMask(out_.caps), 0b111111110u);  // ops 1..8, all of ABI v1
  EXPECT_EQ(CapsPe(out_.caps), DefaultEngineConfig::kPe);
  EXPECT_EQ(CapsSimd(out_.caps), DefaultEngineConfig::kSimd);
  EXPECT_EQ(out_.store_rows, DefaultEngineConfig::kResidentRows);
  EXPECT_TRUE(OutputUntouched());
}

TEST_F(EngineProtocolTest, CheckValidatesWithoutWritingScores) {
  Call(0, kCommandCheck);
  EXPECT_EQ(out_.status, kStatusOk);
  EXPECT_GT(out_.need_rows, 0u);
  EXPECT_TRUE(OutputUntouched());
}

TEST_F(EngineProtocolTest, LoadThenRunResidentAndStreamedAgree) {
  Call(0, kCommandLoad, 9, 0x5EED);
  ASSERT_EQ(out_.status, kStatusOk);
  EXPECT_EQ(out_.checksum, ExpectedWeightsChecksum(*model_));
  for (uint32_t i = 0; i < 784; ++i) reinterpret_cast<uint8_t*>(input_.data())[i] = i * 7 % 251;
  Call(1, kCommandRun, 9, 0x5EED);
  ASSERT_EQ(out_.status, kStatusOk);
  const std::vector<uint64_t> resident = output_;
  output_.assign(output_.size(), kUntouched);
  Call(1, kCommandRun);
  ASSERT_EQ(out_.status, kStatusOk);
  EXPECT_EQ(output_, resident);
}

TEST_F(EngineProtocolTest, RejectsUnimplementedOpsNamingLayerAndOp) {
  for (uint32_t op : {0u, 9u, 15u, 99u}) {
    const uint64_t saved = Descriptor(1, 0);
    Descriptor(1, 0) = op;
    for (uint32_t command : {kCommandCheck, kCommandRun, kCommandLoad}) {
      Call(1, command, 0, 1);
      EXPECT_EQ(StatusCode(out_.status), kStatusUnsupportedOp) << "op " << op;
      EXPECT_EQ(StatusLayer(out_.status), 1u);
      EXPECT_EQ(StatusOp(out_.status), op);
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
    const std::vector<uint64_t> saved = program_;
    if (std::string(c.name) == "no layers") {
      program_[0] = 0;
    } else {
      Descriptor(c.layer, c.word) = c.value;
    }
    Call(1, kCommandRun);
    EXPECT_EQ(StatusCode(out_.status), c.code) << c.name;
    EXPECT_TRUE(OutputUntouched()) << c.name;
    program_ = saved;
  }
  program_[0] = kMaxLayers + 1;
  Call(1, kCommandCheck);
  EXPECT_EQ(StatusCode(out_.status), kStatusBadProgram);
}

TEST_F(EngineProtocolTest, RejectsBadBatchAndCommand) {
  Call(0, kCommandRun);
  EXPECT_EQ(StatusCode(out_.status), kStatusBadBatch);
  Call(kMaxBatch + 1, kCommandRun);
  EXPECT_EQ(StatusCode(out_.status), kStatusBadBatch);
  Call(1, 7);
  EXPECT_EQ(StatusCode(out_.status), kStatusBadCommand);
  EXPECT_TRUE(OutputUntouched());
}

// The timing model's formulas (timing_model.h) on single layers and a pass, worked by hand.
TEST(TimingModelTest, LayersFollowTheirFormulas) {
  using Config = DefaultEngineConfig;
  // 784 -> 64 binarized: 4 groups of 16 rows, 13 words each (more than the 4-cycle drain), plus
  // the last group's drain and the pipeline depth.
  const LayerDesc bnn{.op = Op::kBnnDense, .n_in = 784, .n_out = 64};
  EXPECT_EQ(LayerCycles<Config>(bnn, 64, 0), 4u * 13 + 4 + kDepthMac);
  // 64 -> 10 scores: one group of one word, padded to the 4-cycle drain.
  const LayerDesc scores{.op = Op::kBnnDenseScores, .n_in = 64, .n_out = 10};
  EXPECT_EQ(LayerCycles<Config>(scores, 10, 0), 1u * 4 + 4 + kDepthMac);
  // 784 -> 128 int8: 8 groups of 98 words.
  const LayerDesc dense{.op = Op::kInt8Dense, .n_in = 784, .n_out = 128};
  EXPECT_EQ(LayerCycles<Config>(dense, 128, 0), 8u * 98 + 4 + kDepthMac);
  // 1x28x28 -> 6x24x24, K 5: 3 channel pairs x 24 rows x 3 tiles of 8 pixels, 5 kernel rows each.
  const LayerDesc conv{.op = Op::kInt8Conv, .in_c = 1, .in_h = 28, .in_w = 28, .out_c = 6,
                       .out_h = 24, .out_w = 24, .n_in = 784, .n_out = 3456, .arg0 = 5};
  EXPECT_EQ(LayerCycles<Config>(conv, 6, 0), 3u * 24 * 3 * 5 + 4 + kDepthMac);
  // 6x24x24, P 2: 8 outputs per step; 6 channels x 12 rows x 2 tiles x 2 input rows.
  const LayerDesc pool{.op = Op::kMaxPool, .in_c = 6, .in_h = 24, .in_w = 24, .out_c = 6,
                       .out_h = 12, .out_w = 12, .n_in = 3456, .n_out = 864, .arg0 = 2};
  EXPECT_EQ(LayerCycles<Config>(pool, 0, 0), 6u * 12 * 2 * 2 + kDepthPool);
}

TEST(TimingModelTest, APassCostsItsSlowestProcessPerImagePlusOneImageThroughTheOthers) {
  using Config = DefaultEngineConfig;
  const LayerDesc layers[] = {{.op = Op::kInputBinarize, .n_in = 784, .n_out = 784},
                              {.op = Op::kBnnDense, .n_in = 784, .n_out = 64},
                              {.op = Op::kBnnDenseScores, .n_in = 64, .n_out = 10}};
  PassArgs pass{};
  ForEachPass<Config>(layers, 3, ProgramPlan{}, true, 5,
                      [&](const PassArgs& p, uint32_t, uint32_t, uint32_t) { pass = p; });
  const PassTimes t = PassImageCycles<Config>(layers, pass);
  // Input: 832-byte stride, 104 words; compute: 7 entries in (784 bits), both layers, 3 entries
  // out (10 scores); output: the 64-byte score row, 8 words.
  EXPECT_EQ(t.input, 104u);
  EXPECT_EQ(t.compute, 7 + kDepthCopy + (2 + 4 * 13 + 4 + kDepthMac) + (2 + 4 + 4 + kDepthMac) +
                           3 + kDepthCopy);
  EXPECT_EQ(t.output, 8u);
  ASSERT_GT(t.compute, t.input);
  // Compute is the slowest: the first image reaches it after one input (and the burst latency),
  // then it takes 5 images back to back; the last image then goes through the output.
  EXPECT_EQ(PassCycles<Config>(layers, pass),
            (kMemLatencyCycles + t.input) + 5 * t.compute + t.output + kMemLatencyCycles +
                kDepthOutput);
}

}  // namespace
}  // namespace pynq::engine
