// End-to-end on the FPGA path: the real daemon with --accelerator=fpga --device=sim and injected
// engine faults. No request may fail silently: with --cpu_fallback every answer still carries
// the golden scores and the fault shows in GetMetrics and in grpc.health.v1; without it the
// failed batch's requests get the error. Also: --accelerator=auto falls back to the CPU when the
// device cannot be opened, and --accelerator=fpga then refuses to start.
//
// Shadow verification (--shadow_check_rate) against a bit flipped in the engine's resident
// weights (--sim_fault=flip_weight): the flip passes every check of the FPGA driver, so answers
// go wrong until the shadow check finds it; then the mismatch shows in GetMetrics, the weights
// are reloaded and answers are golden again. A stuck bit disables the engine and the CPU serves
// golden answers. A bad rate stops the start with a message naming the flag.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/test_data.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

class FpgaE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto heldout = testing::ReadHeldOutSet("mnist-bnn-tfc");
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    heldout_ = new testing::TestSet(*std::move(heldout));
  }
  static void TearDownTestSuite() { delete heldout_; }

  void TearDown() override {
    // Close the connection first: the daemon's graceful stop would otherwise wait for it.
    stub_.reset();
    channel_.reset();
    if (daemon_ != nullptr) {
      absl::StatusOr<int> exit_code = daemon_->Stop();
      EXPECT_EQ(exit_code.value_or(-1), 0) << exit_code.status();
    }
  }

  void Start(std::vector<std::string> flags) {
    flags.push_back("--max_queue_delay_us=100");
    // One model: these tests read the metrics of the one model served, and count the engine
    // calls its requests make (the whole zoo on the engine is zoo_e2e_test's).
    auto daemon = testing::DaemonProcess::Start({.args = flags, .only_models = {"mnist-bnn-tfc"}});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    channel_ = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Inference::NewStub(channel_);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  // Classifies images [first, first + count) in one request.
  grpc::Status Classify(size_t first, size_t count, v1::ClassifyResponse* response) {
    v1::ClassifyRequest request;
    request.set_model("mnist-bnn-tfc");
    for (size_t i = first; i < first + count; ++i) {
      absl::Span<const uint8_t> pixels = heldout_->images.image(i);
      request.add_images(std::string(pixels.begin(), pixels.end()));
    }
    return stub_->Classify(Context().get(), request, response);
  }

  // Classifies images [first, first + count) in requests of `per_request`, one after another,
  // and expects every score to be the golden one.
  void ExpectGolden(size_t first, size_t count, size_t per_request) {
    for (size_t at = first; at < first + count; at += per_request) {
      v1::ClassifyResponse response;
      grpc::Status status = Classify(at, per_request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (size_t k = 0; k < per_request; ++k) {
        absl::Span<const int32_t> expected = heldout_->golden.row(at + k);
        ASSERT_THAT(response.results(k).scores(),
                    ::testing::ElementsAreArray(expected.begin(), expected.end()))
            << "image " << at + k;
      }
      EXPECT_EQ(response.backend(), "fpga");
    }
  }

  // Classifies images [first, first + count) in one request and says whether every score is the
  // golden one; for the shadow check's cases, where wrong answers are expected.
  bool Golden(size_t first, size_t count, std::string* backend = nullptr) {
    v1::ClassifyResponse response;
    grpc::Status status = Classify(first, count, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return false;
    if (backend != nullptr) *backend = response.backend();
    for (size_t k = 0; k < count; ++k) {
      absl::Span<const int32_t> expected = heldout_->golden.row(first + k);
      const auto& scores = response.results(static_cast<int>(k)).scores();
      if (!std::equal(scores.begin(), scores.end(), expected.begin(), expected.end())) {
        return false;
      }
    }
    return true;
  }

  v1::ModelMetrics Metrics() {
    v1::GetMetricsResponse response;
    EXPECT_TRUE(stub_->GetMetrics(Context().get(), {}, &response).ok());
    return response.models_size() > 0 ? response.models(0) : v1::ModelMetrics();
  }

  // Waits until the shadow checker has checked `images` images.
  v1::ModelMetrics WaitChecked(uint64_t images) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    v1::ModelMetrics m = Metrics();
    while (m.shadow_checked() < images && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
      m = Metrics();
    }
    EXPECT_EQ(m.shadow_checked(), images);
    return m;
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& service) {
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health->Check(Context().get(), request, &response).ok());
    return response.status();
  }

  static testing::TestSet* heldout_;
  std::unique_ptr<testing::DaemonProcess> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

testing::TestSet* FpgaE2eTest::heldout_ = nullptr;

constexpr auto kServing = grpc::health::v1::HealthCheckResponse::SERVING;
constexpr auto kNotServing = grpc::health::v1::HealthCheckResponse::NOT_SERVING;

TEST_F(FpgaE2eTest, AHungBatchIsResetAndRerunOnTheCpu) {
  Start({"--accelerator=fpga", "--device=sim", "--sim_fault=hang:2", "--engine_timeout_ms=500"});
  ExpectGolden(0, 400, 20);
  const v1::ModelMetrics m = Metrics();
  EXPECT_EQ(m.backend(), "fpga");
  EXPECT_EQ(m.device(), "sim");
  EXPECT_EQ(m.engine_state(), "ok");  // recovered: later batches ran on the engine
  EXPECT_EQ(m.engine_faults(), 1u);
  EXPECT_EQ(m.engine_resets(), 1u);
  EXPECT_EQ(m.faulted_batches(), 1u);
  EXPECT_EQ(m.fallback_batches(), 1u);
  EXPECT_EQ(m.fallback_images(), 20u);
  EXPECT_THAT(m.last_engine_fault(), HasSubstr("did not raise ap_done within 500ms"));
  EXPECT_EQ(m.requests_failed(), 0u);
  EXPECT_EQ(Health("pynq_infer.v1.Accelerator"), kServing);
}

TEST_F(FpgaE2eTest, APersistentHangDisablesTheEngineAndHealthSaysSo) {
  Start({"--accelerator=fpga", "--device=sim", "--sim_fault=hang:1:0", "--engine_timeout_ms=300"});
  ExpectGolden(0, 200, 20);
  const v1::ModelMetrics m = Metrics();
  EXPECT_EQ(m.engine_state(), "disabled");
  EXPECT_EQ(m.engine_faults(), 3u);  // FpgaEngine::Options::max_consecutive_faults
  EXPECT_EQ(m.fallback_batches(), 10u);
  EXPECT_EQ(m.fallback_images(), 200u);
  EXPECT_EQ(Health("pynq_infer.v1.Accelerator"), kNotServing);
  EXPECT_EQ(Health("pynq_infer.v1.Inference"), kServing);  // the CPU still answers
  EXPECT_EQ(Health(""), kServing);
}

TEST_F(FpgaE2eTest, WithoutFallbackTheFailedBatchFailsItsRequestsLoudly) {
  Start({"--accelerator=fpga", "--device=sim", "--sim_fault=corrupt:2", "--cpu_fallback=false"});
  ExpectGolden(0, 10, 10);
  v1::ClassifyResponse response;
  grpc::Status failed = Classify(10, 10, &response);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(failed.error_message(), HasSubstr("corrupted engine output"));
  ExpectGolden(20, 10, 10);
  const v1::ModelMetrics m = Metrics();
  EXPECT_EQ(m.requests_failed(), 1u);
  EXPECT_EQ(m.faulted_batches(), 1u);
  EXPECT_EQ(m.fallback_batches(), 0u);
  EXPECT_EQ(m.engine_resets(), 0u);  // bad output needs no reset: the engine finished
}

TEST_F(FpgaE2eTest, AutoFallsBackToTheCpuWhenTheDeviceCannotBeOpened) {
  // This machine has no XRT device: auto serves on the CPU.
  Start({"--accelerator=auto", "--device=xrt",
         "--overlay_manifest=" + testing::SourceDir() + "/overlays/kv260/nn_engine.manifest"});
  v1::ListModelsResponse models;
  ASSERT_TRUE(stub_->ListModels(Context().get(), {}, &models).ok());
  EXPECT_EQ(models.models(0).backend(), "cpu");
  EXPECT_EQ(Metrics().engine_state(), "");
  EXPECT_EQ(Health("pynq_infer.v1.Accelerator"), kServing);
}

TEST_F(FpgaE2eTest, FpgaRefusesToStartWithoutItsDevice) {
  auto daemon = testing::DaemonProcess::Start(
      {.args = {"--model_dir=" + testing::SourceDir() + "/models/zoo", "--accelerator=fpga",
                "--device=mmio",
                "--overlay_manifest=" + testing::SourceDir() + "/overlays/pynq-z2/nn_engine.manifest"}});
  EXPECT_EQ(daemon.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(daemon.status().message()), HasSubstr("exited with code 1"));
}

TEST_F(FpgaE2eTest, AFlippedWeightBitIsFoundCountedAndCuredByAReload) {
  Start({"--accelerator=fpga", "--device=sim", "--sim_timing=false", "--shadow_check_rate=1",
         "--sim_fault=flip_weight:3"});
  EXPECT_TRUE(Golden(0, 10));
  EXPECT_TRUE(Golden(10, 10));
  WaitChecked(20);
  // The 3rd batch runs on the flipped bit: wrong answers that the driver's checksums pass.
  EXPECT_FALSE(Golden(20, 10));
  v1::ModelMetrics m = WaitChecked(30);
  EXPECT_EQ(m.shadow_mismatches(), 10u);
  EXPECT_EQ(m.engine_faults(), 1u);  // one upset, one fault, one reload
  EXPECT_THAT(m.last_engine_fault(), HasSubstr("scores mismatch: model mnist-bnn-tfc"));
  EXPECT_EQ(m.faulted_batches(), 0u);
  EXPECT_EQ(m.fallback_batches(), 0u);
  // Reloaded: golden again, on the engine.
  for (size_t at = 30; at < 100; at += 10) {
    std::string backend;
    EXPECT_TRUE(Golden(at, 10, &backend)) << at;
    EXPECT_EQ(backend, "fpga");
  }
  m = WaitChecked(100);
  EXPECT_EQ(m.shadow_mismatches(), 10u);
  EXPECT_EQ(m.engine_state(), "ok");
  EXPECT_EQ(m.shadow_skipped(), 0u);
}

TEST_F(FpgaE2eTest, AStuckBitDisablesTheEngineAndTheCpuServes) {
  Start({"--accelerator=fpga", "--device=sim", "--sim_timing=false", "--shadow_check_rate=1",
         "--sim_fault=flip_weight:1:0"});
  // Each batch runs on a re-flipped bit until the third mismatch in a row disables the engine.
  for (size_t at = 0; at < 30; at += 10) {
    EXPECT_FALSE(Golden(at, 10)) << at;
    WaitChecked(at + 10);
  }
  v1::ModelMetrics m = Metrics();
  EXPECT_EQ(m.engine_state(), "disabled");
  EXPECT_EQ(m.engine_faults(), 3u);
  for (size_t at = 30; at < 60; at += 10) EXPECT_TRUE(Golden(at, 10)) << at;
  m = Metrics();
  EXPECT_EQ(m.fallback_batches(), 3u);
  EXPECT_EQ(m.shadow_checked(), 30u);  // the CPU's answers are not checked
}

TEST_F(FpgaE2eTest, ARateOutsideZeroToOneStopsTheStart) {
  const std::string log = ::testing::TempDir() + "/fpga_e2e_bad_shadow_rate.log";
  for (const char* bad : {"--shadow_check_rate=1.5", "--shadow_check_rate=-0.1"}) {
    auto daemon = testing::DaemonProcess::Start({.args = {bad, "--accelerator=fpga", "--device=sim"},
                                                 .log_path = log,
                                                 .only_models = {"mnist-bnn-tfc"}});
    EXPECT_EQ(daemon.status().code(), absl::StatusCode::kUnavailable) << bad;
    EXPECT_THAT(std::string(daemon.status().message()), HasSubstr("exited with code 1")) << bad;
    std::ifstream file(log);
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("must be in [0, 1]")) << bad;
  }
}

}  // namespace
}  // namespace pynq
