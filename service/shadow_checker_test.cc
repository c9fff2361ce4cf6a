// The shadow check on the virtual board: the sampled fraction is exact, a bit flipped in the
// engine's resident weights is caught, counted and cured by the reload it triggers, a stuck bit
// disables the engine so the CPU serves, a full queue skips instead of waiting, and a
// registration ends cleanly while batches run. Runs under ThreadSanitizer (label tsan).
#include "service/shadow_checker.h"

#include <random>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "accel/fpga/devices/sim/sim_device.h"
#include "accel/fpga/fpga_backend.h"
#include "accel/fpga/fpga_engine.h"
#include "accel/model/model_builder.h"
#include "gtest/gtest.h"

namespace pynq::service {
namespace {

using accel::FpgaAccelerator;
using accel::FpgaEngine;
using accel::SimDevice;
using accel::SimFault;

class ShadowCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = accel::Model::FromBytes(accel::SerializeModel(
        accel::RandomBnnSpec({.seed = 21, .hidden = {64}, .num_classes = 10})));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
  }

  void MakeFpga(accel::SimFaultPlan fault, FpgaEngine::Options engine_options = {}) {
    auto board = SimDevice::Create({.faults = {fault}});
    ASSERT_TRUE(board.ok()) << board.status();
    board_ = board->get();
    engine_options.call_timeout = absl::Seconds(10);
    auto engine = FpgaEngine::Create(std::move(*board), engine_options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *engine;
    auto fpga = FpgaAccelerator::Create(model_, engine_, {.max_batch_size = 64});
    ASSERT_TRUE(fpga.ok()) << fpga.status();
    fpga_ = std::move(*fpga);
    ASSERT_TRUE(fpga_->resident());
  }

  static std::vector<uint8_t> Images(uint32_t seed, size_t n) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> images(n * 784);
    for (uint8_t& p : images) p = static_cast<uint8_t>(rng());
    return images;
  }

  std::vector<int32_t> Cpu(absl::Span<const uint8_t> images) {
    const size_t n = images.size() / 784;
    auto cpu = accel::CpuAccelerator::Create(model_, {.max_batch_size = n});
    std::vector<int32_t> scores(n * 10);
    EXPECT_TRUE((*cpu)->Run(images, absl::MakeSpan(scores)).ok());
    return scores;
  }

  std::vector<int32_t> Run(absl::Span<const uint8_t> images) {
    std::vector<int32_t> scores(images.size() / 784 * 10);
    EXPECT_TRUE(fpga_->Run(images, absl::MakeSpan(scores)).ok());
    return scores;
  }

  // Waits until every sample taken was checked or dropped.
  static void WaitIdle(const ShadowChecker& checker) {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up) {
      const ShadowChecker::Stats s = checker.stats();
      if (s.checked + s.dropped == s.sampled) return;
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "the shadow checker did not catch up";
  }

  std::shared_ptr<const accel::Model> model_;
  SimDevice* board_ = nullptr;
  std::shared_ptr<FpgaEngine> engine_;
  std::unique_ptr<FpgaAccelerator> fpga_;
  ModelMetrics metrics_;
};

TEST_F(ShadowCheckerTest, RejectsARateOutsideZeroToOne) {
  for (double bad : {-0.01, 1.5, std::nan("")}) {
    absl::StatusOr<std::unique_ptr<ShadowChecker>> checker = ShadowChecker::Create({.rate = bad});
    EXPECT_EQ(checker.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(checker.status().message().find("--shadow_check_rate"), std::string::npos);
  }
  EXPECT_EQ(ShadowChecker::Create({.rate = 0.5, .max_queued = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// floor(K * rate) of the first K engine images are checked, over batches of any size; the
// engine's scores are right, so every check matches.
TEST_F(ShadowCheckerTest, ChecksExactlyTheSampledFraction) {
  MakeFpga({});
  auto checker = ShadowChecker::Create({.rate = 0.25, .max_queued = 1000});
  ASSERT_TRUE(checker.ok()) << checker.status();
  auto registration = (*checker)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(registration.ok()) << registration.status();
  const std::vector<uint8_t> images = Images(1, 64);
  size_t run = 0;
  for (size_t n : {1, 3, 64, 7, 1, 2, 30}) {  // 108 images
    Run(absl::MakeSpan(images).first(n * 784));
    run += n;
  }
  WaitIdle(**checker);
  const ShadowChecker::Stats s = (*checker)->stats();
  EXPECT_EQ(s.sampled, run / 4);
  EXPECT_EQ(s.checked, run / 4);
  EXPECT_EQ(s.mismatches, 0u);
  const ModelMetricsSnapshot m = metrics_.Snapshot(absl::Now());
  EXPECT_EQ(m.shadow_checked, run / 4);
  EXPECT_EQ(m.shadow_mismatches, 0u);
  EXPECT_EQ(engine_->health().faults, 0u);
}

// The end-to-end story on the board: a bit flips in the resident weights, the engine's answers
// go wrong unnoticed by the driver, the shadow check finds it, the weights are reloaded and the
// answers are right again.
TEST_F(ShadowCheckerTest, AFlippedWeightBitIsFoundAndCuredByAReload) {
  MakeFpga({.kind = SimFault::kFlipWeightBit, .first_run = 3, .count = 1});
  auto checker = ShadowChecker::Create({.rate = 1});
  ASSERT_TRUE(checker.ok()) << checker.status();
  auto registration = (*checker)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(registration.ok()) << registration.status();
  const std::vector<uint8_t> images = Images(2, 8);
  const std::vector<int32_t> right = Cpu(images);
  EXPECT_EQ(Run(images), right);
  EXPECT_EQ(Run(images), right);
  WaitIdle(**checker);
  EXPECT_NE(Run(images), right);  // RUN 3: the bit flips before it
  WaitIdle(**checker);
  // Every image of the batch differs; the first reported triggers the one reload, the others
  // were computed before it.
  EXPECT_EQ((*checker)->stats().mismatches, 8u);
  EXPECT_EQ(metrics_.Snapshot(absl::Now()).shadow_mismatches, 8u);
  EXPECT_EQ(fpga_->stats().weight_loads, 2u);  // Create(), then the reload
  EXPECT_EQ(engine_->health().score_mismatches, 1u);
  EXPECT_NE(engine_->health().last_fault.find("engine image #16"), std::string::npos)
      << engine_->health().last_fault;
  EXPECT_EQ(Run(images), right);
  WaitIdle(**checker);
  EXPECT_EQ((*checker)->stats().mismatches, 8u);
  EXPECT_EQ((*checker)->stats().checked, 32u);
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kOk);
}

// A stuck bit comes back after every reload: three mismatches in a row disable the engine, and
// the CPU serves the right answers.
TEST_F(ShadowCheckerTest, AStuckBitDisablesTheEngineAndTheCpuServes) {
  MakeFpga({.kind = SimFault::kFlipWeightBit, .first_run = 1, .count = 0},
           {.max_consecutive_mismatches = 3});
  auto checker = ShadowChecker::Create({.rate = 1});
  ASSERT_TRUE(checker.ok()) << checker.status();
  auto registration = (*checker)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(registration.ok()) << registration.status();
  const std::vector<uint8_t> image = Images(3, 1);
  const std::vector<int32_t> right = Cpu(image);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(Run(image), right);
    WaitIdle(**checker);
  }
  EXPECT_EQ(engine_->health().state, FpgaEngine::State::kDisabled);
  EXPECT_EQ((*checker)->stats().mismatches, 3u);
  EXPECT_EQ(Run(image), right);
  EXPECT_EQ(fpga_->stats().fallback_batches, 1u);
  WaitIdle(**checker);
  EXPECT_EQ((*checker)->stats().sampled, 3u);  // the CPU's batch is not checked
}

// With no room in the queue, samples are skipped and counted; Run() never waits for the checker.
TEST_F(ShadowCheckerTest, AFullQueueSkipsSamples) {
  MakeFpga({});
  auto checker = ShadowChecker::Create({.rate = 1, .max_queued = 1});
  ASSERT_TRUE(checker.ok()) << checker.status();
  auto registration = (*checker)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(registration.ok()) << registration.status();
  const std::vector<uint8_t> images = Images(4, 64);
  Run(images);
  WaitIdle(**checker);
  const ShadowChecker::Stats s = (*checker)->stats();
  EXPECT_EQ(s.sampled + s.skipped, 64u);
  EXPECT_GT(s.skipped, 0u);
  EXPECT_EQ(metrics_.Snapshot(absl::Now()).shadow_skipped, s.skipped);
  EXPECT_EQ(s.mismatches, 0u);
}

// A registration ends while two threads run batches and samples are queued: nothing is checked
// after, the accelerator is not touched, and later batches run unobserved.
TEST_F(ShadowCheckerTest, ARegistrationEndsWhileBatchesRun) {
  MakeFpga({});
  auto checker = ShadowChecker::Create({.rate = 1, .max_queued = 8});
  ASSERT_TRUE(checker.ok()) << checker.status();
  auto registration = (*checker)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(registration.ok()) << registration.status();
  const std::vector<uint8_t> images = Images(5, 16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) Run(images);
    });
  }
  absl::SleepFor(absl::Milliseconds(5));
  registration->reset();
  const ShadowChecker::Stats at_end = (*checker)->stats();
  for (std::thread& t : threads) t.join();
  const ShadowChecker::Stats s = (*checker)->stats();
  EXPECT_EQ(s.checked, at_end.checked);
  EXPECT_EQ(s.sampled, at_end.sampled);
  EXPECT_EQ(s.checked + s.dropped, s.sampled);
  EXPECT_EQ(s.mismatches, 0u);
}

// Off, or for a backend on no engine, nothing is installed or checked.
TEST_F(ShadowCheckerTest, ChecksNothingWhenOffOrOnTheCpu) {
  MakeFpga({});
  auto off = ShadowChecker::Create({.rate = 0});
  ASSERT_TRUE(off.ok());
  auto r1 = (*off)->Attach(model_, *fpga_, &metrics_);
  ASSERT_TRUE(r1.ok());
  auto on = ShadowChecker::Create({.rate = 1});
  ASSERT_TRUE(on.ok());
  auto cpu = accel::CpuAccelerator::Create(model_, {.max_batch_size = 4});
  ASSERT_TRUE(cpu.ok());
  auto r2 = (*on)->Attach(model_, **cpu, &metrics_);
  ASSERT_TRUE(r2.ok());
  const std::vector<uint8_t> images = Images(6, 4);
  Run(images);
  std::vector<int32_t> scores(40);
  ASSERT_TRUE((*cpu)->Run(images, absl::MakeSpan(scores)).ok());
  EXPECT_EQ((*off)->stats().sampled + (*off)->stats().skipped, 0u);
  EXPECT_EQ((*on)->stats().sampled + (*on)->stats().skipped, 0u);
}

}  // namespace
}  // namespace pynq::service
