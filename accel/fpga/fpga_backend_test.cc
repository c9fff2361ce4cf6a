// The FPGA driver on the virtual board: bit-identical scores to the CPU backend and the golden
// file, resident and streamed, two batches in flight, several models sharing one engine and its
// on-chip store (what does not fit is streamed; a lost resident copy is loaded again), and the
// fault policy (hang, corrupted output, bus error; reset, CPU fallback, disabling). These tests
// are the ones that fail when the driver forgets a sync, a register write or the done
// handshake: a forgotten slot, key or base register shows as extra weight loads.
#include "accel/fpga/fpga_backend.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "accel/cpu/cpu_backend.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/model/model_builder.h"
#include "overlays/nn_engine/program.h"
#include "overlays/nn_engine/timing_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/source_dir.h"
#include "tests/support/test_data.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

// Forwards to a SimDevice, optionally lying in one register: a stand-in for a bitstream that is
// not the engine this driver expects.
class TamperedDevice final : public Device {
 public:
  TamperedDevice(std::unique_ptr<SimDevice> board, uint32_t offset, uint32_t value)
      : board_(std::move(board)), offset_(offset), value_(value) {}
  std::string_view name() const override { return "tampered"; }
  absl::StatusOr<uint32_t> Read32(uint32_t offset) override {
    absl::StatusOr<uint32_t> value = board_->Read32(offset);
    return offset == offset_ ? value_ : value;
  }
  absl::Status Write32(uint32_t offset, uint32_t value) override {
    return board_->Write32(offset, value);
  }
  absl::StatusOr<std::unique_ptr<DmaBuffer>> Allocate(size_t bytes) override {
    return board_->Allocate(bytes);
  }
  absl::Status WaitForDone(absl::Duration timeout) override { return board_->WaitForDone(timeout); }
  absl::Status Reset() override { return board_->Reset(); }

 private:
  std::unique_ptr<SimDevice> board_;
  uint32_t offset_;
  uint32_t value_;
};

class FpgaBackendTest : public ::testing::Test {
 protected:
  // A virtual board and an engine on it; `board_` stays valid while `engine_` lives.
  void MakeEngine(SimDevice::Options board_options = {},
                  FpgaEngine::Options engine_options = {.call_timeout = absl::Seconds(10)}) {
    auto board = SimDevice::Create(board_options);
    ASSERT_TRUE(board.ok()) << board.status();
    board_ = board->get();
    auto engine = FpgaEngine::Create(std::move(*board), engine_options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *engine;
  }

  std::unique_ptr<FpgaAccelerator> Fpga(std::shared_ptr<const Model> model,
                                        FpgaAccelerator::Options options) {
    auto fpga = FpgaAccelerator::Create(std::move(model), engine_, options);
    EXPECT_TRUE(fpga.ok()) << fpga.status();
    return fpga.ok() ? std::move(*fpga) : nullptr;
  }

  static std::shared_ptr<const Model> RandomModel(uint64_t seed, std::vector<uint32_t> hidden,
                                                  uint32_t classes) {
    auto model = Model::FromBytes(SerializeModel(
        RandomBnnSpec({.seed = seed, .hidden = std::move(hidden), .num_classes = classes})));
    EXPECT_TRUE(model.ok()) << model.status();
    return *model;
  }

  static std::vector<int32_t> Cpu(std::shared_ptr<const Model> model,
                                  absl::Span<const uint8_t> images) {
    const size_t n = images.size() / model->input_bytes();
    auto cpu = CpuAccelerator::Create(model, {.max_batch_size = n});
    std::vector<int32_t> scores(n * model->num_classes());
    EXPECT_TRUE((*cpu)->Run(images, absl::MakeSpan(scores)).ok());
    return scores;
  }

  static std::vector<uint8_t> RandomImages(uint32_t seed, size_t n) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> images(n * 784);
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    return images;
  }

  SimDevice* board_ = nullptr;
  std::shared_ptr<FpgaEngine> engine_;
};

class FpgaResidencyTest : public FpgaBackendTest,
                          public ::testing::WithParamInterface<FpgaAccelerator::Options::Residency> {};

// Every held-out image, in batches of up to 64 from two threads at once (both buffer sets in
// use), gives the golden scores, resident and streamed; nothing fell back to the CPU, and a
// resident model's weights were loaded once.
TEST_P(FpgaResidencyTest, HeldOutScoresMatchGoldenFromTwoThreads) {
  auto model = Model::LoadFile(testing::ShippedModelPath("mnist-bnn-tfc"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto heldout = testing::ReadHeldOutSet("mnist-bnn-tfc");
  ASSERT_TRUE(heldout.ok()) << heldout.status();
  MakeEngine({.timing = true, .clock_mhz = 100});
  const bool streamed = GetParam() == FpgaAccelerator::Options::Residency::kStreamed;
  auto fpga = Fpga(*model, {.max_batch_size = 64, .cpu_fallback = false, .residency = GetParam()});
  ASSERT_NE(fpga, nullptr);
  EXPECT_EQ(fpga->max_concurrent_runs(), 2u);
  EXPECT_EQ(fpga->resident(), !streamed);

  std::vector<int32_t> scores(2000 * 10);
  const absl::Span<const uint8_t> pixels(heldout->images.pixels);
  auto worker = [&](size_t first_batch) {
    // Batches of varying size, so a stale batch register or trailer shows.
    for (size_t b = 0, first = 0; first < 2000; ++b) {
      const size_t n = std::min<size_t>(1 + (b * 37) % 64, 2000 - first);
      if (b % 2 == first_batch) {
        absl::Status s = fpga->Run(pixels.subspan(first * 784, n * 784),
                                   absl::MakeSpan(scores).subspan(first * 10, n * 10));
        EXPECT_TRUE(s.ok()) << s;
      }
      first += n;
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  for (size_t i = 0; i < 2000; ++i) {
    ASSERT_TRUE(std::equal(scores.begin() + i * 10, scores.begin() + i * 10 + 10,
                           heldout->golden.values.begin() + i * 10))
        << "image " << i;
  }
  const FpgaAccelerator::Stats stats = fpga->stats();
  EXPECT_GT(stats.engine_batches, 40u);
  EXPECT_EQ(stats.faulted_batches, 0u);
  EXPECT_EQ(stats.fallback_batches, 0u);
  EXPECT_EQ(stats.weight_loads, streamed ? 0u : 1u);
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kOk);
  EXPECT_EQ(board_->stats().ignored_starts, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Residency, FpgaResidencyTest,
    ::testing::Values(FpgaAccelerator::Options::Residency::kAuto,
                      FpgaAccelerator::Options::Residency::kStreamed),
    [](const auto& info) {
      return info.param == FpgaAccelerator::Options::Residency::kAuto ? "Resident" : "Streamed";
    });

// The virtual board with its timing on charges each call the cycles timing_model.h gives for it
// (the C simulation's count, which engine_csim_test checks against the model), resident and
// streamed, for the shipped MNIST models at batch 64 and 1: what --sim_timing delays ap_done by.
TEST_F(FpgaBackendTest, TheVirtualBoardChargesTheTimingModelsCycles) {
  MakeEngine({.timing = true, .clock_mhz = 100});
  for (const char* name : {"mnist-bnn-tfc", "mnist-int8-mlp", "mnist-lenet5-int8"}) {
    SCOPED_TRACE(name);
    auto model = Model::LoadFile(testing::ShippedModelPath(name));
    ASSERT_TRUE(model.ok()) << model.status();
    const absl::Span<const uint8_t> section = (*model)->program_section();
    std::vector<uint64_t> words((section.size() + 7) / 8, 0);
    std::memcpy(words.data(), section.data(), section.size());
    engine::LayerDesc layers[engine::kMaxLayers];
    uint32_t count = 0;
    engine::Clock unused;
    ASSERT_EQ(engine::StatusCode(engine::ReadProgram<engine::DefaultEngineConfig>(
                  words.data(), layers, count, unused)),
              engine::kStatusOk);
    for (auto residency : {FpgaAccelerator::Options::Residency::kAuto,
                           FpgaAccelerator::Options::Residency::kStreamed}) {
      auto fpga =
          Fpga(*model, {.max_batch_size = 64, .cpu_fallback = false, .residency = residency});
      ASSERT_NE(fpga, nullptr);
      for (uint32_t n : {64u, 1u}) {
        std::vector<uint8_t> images = RandomImages(n, n);
        std::vector<int32_t> scores(n * (*model)->num_classes());
        ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
        EXPECT_EQ(board_->stats().cycles_last,
                  engine::CallCycles<engine::DefaultEngineConfig>(
                      layers, count, engine::kCommandRun, n, fpga->resident()))
            << (fpga->resident() ? "resident" : "streamed") << ", batch " << n;
      }
    }
  }
}

// Models of different shapes take turns on one engine, three resident in their own rows and one
// streamed: each call must carry its own program, weights, buffers, batch size, slot, key, bases
// and scratch. A resident model's weights are loaded once.
TEST_F(FpgaBackendTest, ModelsSharingTheEngineKeepTheirOwnResults) {
  MakeEngine();
  std::vector<std::shared_ptr<const Model>> models = {
      RandomModel(1, {64}, 10), RandomModel(2, {200, 65}, 7), RandomModel(3, {}, 3),
      RandomModel(4, {300}, 5)};
  std::vector<std::unique_ptr<FpgaAccelerator>> fpgas;
  for (size_t i = 0; i < models.size(); ++i) {
    fpgas.push_back(Fpga(models[i], {.max_batch_size = 16,
                                     .cpu_fallback = false,
                                     .residency = i == 3
                                                      ? FpgaAccelerator::Options::Residency::kStreamed
                                                      : FpgaAccelerator::Options::Residency::kAuto}));
    ASSERT_NE(fpgas.back(), nullptr) << "model " << i;
  }
  for (uint32_t round = 0; round < 6; ++round) {
    for (size_t i = 0; i < models.size(); ++i) {
      const size_t n = 1 + (round * 5 + i * 3) % 16;
      std::vector<uint8_t> images = RandomImages(round * 10 + i, n);
      std::vector<int32_t> scores(n * models[i]->num_classes());
      ASSERT_TRUE(fpgas[i]->Run(images, absl::MakeSpan(scores)).ok());
      EXPECT_EQ(scores, Cpu(models[i], images)) << "model " << i << ", round " << round;
    }
  }
  for (size_t i = 0; i < models.size(); ++i) {
    EXPECT_EQ(fpgas[i]->resident(), i != 3) << "model " << i;
    EXPECT_EQ(fpgas[i]->stats().weight_loads, i != 3 ? 1u : 0u) << "model " << i;
    EXPECT_EQ(fpgas[i]->stats().engine_batches, 6u) << "model " << i;
  }
}

// The six shipped models on one PYNQ-Z2 engine, made in name order as the daemon loads them:
// each takes store rows while they last (first come, first served), the rest are streamed; every
// one gives its golden scores. Unloading a resident model gives its rows back, and a model made
// afterwards takes them.
TEST_F(FpgaBackendTest, TheZooSharesTheStoreAndWhatDoesNotFitIsStreamed) {
  absl::StatusOr<std::vector<testing::ZooEntry>> zoo =
      testing::ReadZooManifest(testing::SourceDir() + "/models");
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  std::sort(zoo->begin(), zoo->end(),
            [](const testing::ZooEntry& a, const testing::ZooEntry& b) { return a.name < b.name; });
  MakeEngine();
  const OnChipStore::Capacity capacity = engine_->store().capacity();
  std::vector<std::shared_ptr<const Model>> models;
  std::vector<std::unique_ptr<FpgaAccelerator>> fpgas;
  uint32_t rows = 0;
  for (const testing::ZooEntry& entry : *zoo) {
    auto model = Model::LoadFile(entry.model_path);
    ASSERT_TRUE(model.ok()) << model.status();
    models.push_back(*model);
    fpgas.push_back(Fpga(*model, {.max_batch_size = 32, .cpu_fallback = false}));
    ASSERT_NE(fpgas.back(), nullptr);
    if (fpgas.back()->resident()) rows += fpgas.back()->reservation()->rows;
  }
  EXPECT_EQ(engine_->store().usage().rows, rows);
  EXPECT_LE(rows, capacity.rows);
  // All six need more than the store has, so some are streamed; what is resident came first.
  size_t resident = 0;
  for (const auto& f : fpgas) resident += f->resident() ? 1 : 0;
  EXPECT_GE(resident, 1u);
  EXPECT_LT(resident, fpgas.size());
  for (size_t m = 0; m < fpgas.size(); ++m) {
    SCOPED_TRACE((*zoo)[m].name);
    auto test_set = testing::ReadTestSet((*zoo)[m]);
    ASSERT_TRUE(test_set.ok()) << test_set.status();
    const size_t n = 32, classes = models[m]->num_classes();
    std::vector<int32_t> scores(n * classes);
    ASSERT_TRUE(fpgas[m]->Run(absl::MakeConstSpan(test_set->images.pixels).subspan(0, n * 784),
                              absl::MakeSpan(scores))
                    .ok());
    EXPECT_TRUE(std::equal(scores.begin(), scores.end(), test_set->golden.values.begin()));
  }
  // Unload the first resident model; a model made again now fits where it was.
  size_t first = 0;
  while (!fpgas[first]->resident()) ++first;
  const uint32_t freed = fpgas[first]->reservation()->rows;
  fpgas[first].reset();
  EXPECT_EQ(engine_->store().usage().rows, rows - freed);
  auto again = Fpga(models[first], {.max_batch_size = 32, .cpu_fallback = false});
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->resident());
}

// DDR above 4 GiB (ZynqMP's high DDR starts at 32 GiB): every address register's high word
// matters, resident and streamed.
TEST_F(FpgaBackendTest, DdrAbove4GiBUsesTheHighAddressWords) {
  MakeEngine({.ddr_base = uint64_t{0x8} << 32});
  auto model = RandomModel(10, {100}, 10);
  std::vector<uint8_t> images = RandomImages(10, 8);
  for (auto residency : {FpgaAccelerator::Options::Residency::kAuto,
                         FpgaAccelerator::Options::Residency::kStreamed}) {
    auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = false, .residency = residency});
    ASSERT_NE(fpga, nullptr);
    std::vector<int32_t> scores(80);
    ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
    EXPECT_EQ(scores, Cpu(model, images));
  }
}

// A reset of the engine (after a hang) loses the resident copies; the next batch finds its copy
// gone, loads it again and gets the right scores.
TEST_F(FpgaBackendTest, AResetMakesTheDriverLoadTheWeightsAgain) {
  MakeEngine();
  auto model = RandomModel(9, {100}, 10);
  auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = false});
  ASSERT_NE(fpga, nullptr);
  ASSERT_TRUE(fpga->resident());
  std::vector<uint8_t> images = RandomImages(9, 8);
  std::vector<int32_t> scores(80);
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  ASSERT_TRUE(board_->Reset().ok());
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ(scores, Cpu(model, images));
  EXPECT_EQ(fpga->stats().weight_loads, 2u);
  EXPECT_EQ(fpga->stats().faulted_batches, 0u);
}

TEST_F(FpgaBackendTest, RejectsBadBatchShapesAndSizes) {
  MakeEngine();
  auto model = RandomModel(4, {64}, 10);
  EXPECT_EQ(FpgaAccelerator::Create(model, engine_, {.max_batch_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FpgaAccelerator::Create(model, engine_, {.max_batch_size = 1025}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto fpga = Fpga(model, {.max_batch_size = 4});
  std::vector<uint8_t> images(5 * 784);
  std::vector<int32_t> scores(50);
  EXPECT_EQ(fpga->Run(images, absl::MakeSpan(scores)).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FpgaBackendTest, AnEngineWithoutAnOpOfTheModelIsUnimplementedAtLoad) {
  auto board = SimDevice::Create({});
  ASSERT_TRUE(board.ok());
  // An engine build that implements only ops 1 and 3.
  auto engine = FpgaEngine::Create(
      std::make_unique<TamperedDevice>(std::move(*board), engine::kRegCaps,
                                       engine::Caps(0b1010, 8, 2)),
      {});
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto fpga = FpgaAccelerator::Create(RandomModel(5, {64}, 10), *engine, {});
  EXPECT_EQ(fpga.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(fpga.status().message()),
              HasSubstr("does not implement op BNN_DENSE (2) of layer 1 of model random-bnn"));
}

TEST_F(FpgaBackendTest, ABitstreamThatIsNotTheEngineIsRefused) {
  for (const auto& [offset, value, message] :
       {std::tuple{engine::kRegId, 0x12345678u, "is not nn_engine: ID register 0x12345678"},
        std::tuple{engine::kRegVersion, 0x00020001u, "implements ABI 2"},
        std::tuple{engine::kRegVersion, 0x00010001u, "register map is revision 1"}}) {
    auto board = SimDevice::Create({});
    ASSERT_TRUE(board.ok());
    auto engine = FpgaEngine::Create(
        std::make_unique<TamperedDevice>(std::move(*board), offset, value), {});
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(engine.status().message()), HasSubstr(message));
  }
}

struct FaultCase {
  const char* name;
  SimFault kind;
  absl::StatusCode code;  // what Run() returns without fallback
  const char* message;
  uint64_t resets;        // a call that never finishes is reset; bad output is not
};

class FpgaFaultTest : public FpgaBackendTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(FpgaFaultTest, FailsLoudlyWithoutFallback) {
  const FaultCase& c = GetParam();
  MakeEngine({.faults = {{.kind = c.kind, .first_run = 2}}},
             {.call_timeout = absl::Milliseconds(500)});
  auto model = RandomModel(6, {64}, 10);
  auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = false});
  std::vector<uint8_t> images = RandomImages(6, 8);
  std::vector<int32_t> scores(80);
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  absl::Status failed = fpga->Run(images, absl::MakeSpan(scores));
  EXPECT_EQ(failed.code(), c.code) << failed;
  EXPECT_THAT(std::string(failed.message()), HasSubstr(c.message));
  FpgaEngine::Health health = engine_->health();
  EXPECT_EQ(health.state, FpgaEngine::State::kFaulted);
  EXPECT_EQ(health.faults, 1u);
  EXPECT_EQ(health.resets, c.resets);
  EXPECT_THAT(health.last_fault, HasSubstr(c.message));
  // The next call succeeds again and clears the fault state.
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ(scores, Cpu(model, images));
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kOk);
  EXPECT_EQ(fpga->stats().faulted_batches, 1u);
  EXPECT_EQ(fpga->stats().fallback_batches, 0u);
}

TEST_P(FpgaFaultTest, FallsBackToTheCpuWithTheRightScores) {
  const FaultCase& c = GetParam();
  MakeEngine({.faults = {{.kind = c.kind, .first_run = 1}}},
             {.call_timeout = absl::Milliseconds(500)});
  std::vector<bool> listener_calls;
  engine_->SetHealthListener([&](bool ok) { listener_calls.push_back(ok); });
  auto model = RandomModel(7, {100}, 10);
  auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = true});
  std::vector<uint8_t> images = RandomImages(7, 5);
  std::vector<int32_t> scores(50);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
    EXPECT_EQ(scores, Cpu(model, images));
  }
  const FpgaAccelerator::Stats stats = fpga->stats();
  EXPECT_EQ(stats.faulted_batches, 1u);
  EXPECT_EQ(stats.fallback_batches, 1u);
  EXPECT_EQ(stats.fallback_images, 5u);
  EXPECT_EQ(stats.engine_batches, 1u);
  EXPECT_EQ(listener_calls, (std::vector<bool>{false, true}));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FpgaFaultTest,
    ::testing::Values(
        FaultCase{"hang", SimFault::kHang, absl::StatusCode::kDeadlineExceeded,
                  "did not raise ap_done within 500ms", 1},
        FaultCase{"corrupt", SimFault::kCorruptOutput, absl::StatusCode::kDataLoss,
                  "corrupted engine output", 0},
        FaultCase{"bus_error", SimFault::kBusError, absl::StatusCode::kInternal,
                  "bus error: engine write", 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(FpgaBackendTest, APersistentFaultDisablesTheEngineAndTheCpuServes) {
  MakeEngine({.faults = {{.kind = SimFault::kHang, .first_run = 1, .count = 0}}},
             {.call_timeout = absl::Milliseconds(300), .max_consecutive_faults = 2});
  auto model = RandomModel(8, {64}, 10);
  auto with_fallback = Fpga(model, {.max_batch_size = 4, .cpu_fallback = true});
  auto without = Fpga(model, {.max_batch_size = 4, .cpu_fallback = false});
  std::vector<uint8_t> images = RandomImages(8, 4);
  std::vector<int32_t> scores(40);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(with_fallback->Run(images, absl::MakeSpan(scores)).ok());
    EXPECT_EQ(scores, Cpu(model, images));
  }
  const FpgaEngine::Health health = engine_->health();
  EXPECT_EQ(health.state, FpgaEngine::State::kDisabled);
  EXPECT_EQ(health.faults, 2u);  // no call after it was disabled
  EXPECT_EQ(with_fallback->stats().fallback_batches, 5u);
  EXPECT_EQ(with_fallback->stats().faulted_batches, 2u);
  absl::Status refused = without->Run(images, absl::MakeSpan(scores));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("fpga engine is disabled"));
}

// A recording EngineBatchObserver: what a shadow check would see.
class SeenBatches final : public EngineBatchObserver {
 public:
  void OnEngineBatch(absl::Span<const uint8_t> images, absl::Span<const int32_t> scores) override {
    std::lock_guard lock(mu_);
    images_.insert(images_.end(), images.begin(), images.end());
    scores_.insert(scores_.end(), scores.begin(), scores.end());
  }
  std::vector<uint8_t> images() {
    std::lock_guard lock(mu_);
    return images_;
  }
  std::vector<int32_t> scores() {
    std::lock_guard lock(mu_);
    return scores_;
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t> images_;
  std::vector<int32_t> scores_;
};

// A bit flipped in the resident weights passes every check of the driver (the engine checksums
// its wrong scores faithfully): the observer sees the wrong scores. Reported as a mismatch, the
// copy is loaded again and the scores are right again; CPU-run batches are not observed.
TEST_F(FpgaBackendTest, AFlippedWeightBitIsCuredByTheReloadAMismatchTriggers) {
  MakeEngine({.faults = {{.kind = SimFault::kFlipWeightBit, .first_run = 2, .count = 1}}});
  auto model = RandomModel(10, {64}, 10);
  auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = true});
  ASSERT_NE(fpga, nullptr);
  ASSERT_TRUE(fpga->resident());
  auto seen = std::make_shared<SeenBatches>();
  fpga->SetEngineBatchObserver(seen);
  std::vector<uint8_t> images = RandomImages(10, 8);
  const std::vector<int32_t> right = Cpu(model, images);
  std::vector<int32_t> scores(80);
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ(scores, right);
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());  // RUN 2: the bit flips
  EXPECT_EQ(board_->stats().weight_flips, 1u);
  ASSERT_NE(scores, right);
  for (size_t i = 0; i < 8; ++i) {  // class 8's score moved by 2^20 in every image
    for (size_t c = 0; c < 10; ++c) {
      const int32_t diff = scores[i * 10 + c] - right[i * 10 + c];
      EXPECT_EQ(diff == 0 ? 0 : std::abs(diff), c == 8 ? 1 << 20 : 0) << i << " " << c;
    }
  }
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());  // still flipped: resident
  EXPECT_NE(scores, right);
  EXPECT_EQ(fpga->stats().faulted_batches, 0u);  // the driver's own checks saw nothing
  EXPECT_EQ(seen->scores().size(), 3 * 80u);
  EXPECT_EQ(seen->images(), [&] {
    std::vector<uint8_t> three;
    for (int k = 0; k < 3; ++k) three.insert(three.end(), images.begin(), images.end());
    return three;
  }());

  fpga->ReportScoreCheck(false, "image 8: class 8 scores differ");
  EXPECT_EQ(fpga->stats().score_mismatches, 1u);
  EXPECT_EQ(fpga->stats().weight_loads, 2u);
  EXPECT_EQ(engine_->health().score_mismatches, 1u);
  EXPECT_EQ(engine_->health().faults, 1u);
  EXPECT_THAT(engine_->health().last_fault, HasSubstr("image 8"));
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kOk);  // the reload succeeded
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ(scores, right);
}

// A stuck bit comes back after every reload: max_consecutive_mismatches mismatches in a row
// disable the engine, and the CPU serves (and is not observed). Matches between mismatches reset
// the streak only after matches_to_forgive of them.
TEST_F(FpgaBackendTest, RepeatedMismatchesDisableTheEngineAndTheCpuServes) {
  MakeEngine({.faults = {{.kind = SimFault::kFlipWeightBit, .first_run = 1, .count = 0}}},
             {.call_timeout = absl::Seconds(10), .max_consecutive_mismatches = 3,
              .matches_to_forgive = 2});
  auto model = RandomModel(11, {64}, 10);
  auto fpga = Fpga(model, {.max_batch_size = 8, .cpu_fallback = true});
  ASSERT_NE(fpga, nullptr);
  auto seen = std::make_shared<SeenBatches>();
  fpga->SetEngineBatchObserver(seen);
  std::vector<uint8_t> images = RandomImages(11, 8);
  const std::vector<int32_t> right = Cpu(model, images);
  std::vector<int32_t> scores(80);
  fpga->ReportScoreCheck(false, "one");
  fpga->ReportScoreCheck(true, "");  // one match is not enough to forgive
  fpga->ReportScoreCheck(false, "two");
  fpga->ReportScoreCheck(true, "");
  fpga->ReportScoreCheck(true, "");  // two are: the streak starts again
  fpga->ReportScoreCheck(false, "three");
  fpga->ReportScoreCheck(false, "four");
  EXPECT_NE(engine_->health().state, FpgaEngine::State::kDisabled);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
    EXPECT_NE(scores, right);  // re-flipped after each reload
  }
  fpga->ReportScoreCheck(false, "five");
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kDisabled);
  EXPECT_EQ(engine_->health().score_mismatches, 5u);
  const size_t observed = seen->scores().size();
  ASSERT_TRUE(fpga->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ(scores, right);
  EXPECT_EQ(fpga->stats().fallback_batches, 1u);
  EXPECT_EQ(seen->scores().size(), observed);
}

}  // namespace
}  // namespace pynq::accel
