// Shadow verification end to end: the real daemon on the virtual board with --shadow_check_rate
// and a bit flipped in the engine's resident weights (--sim_fault=flip_weight). The flip passes
// every check of the FPGA driver, so answers go wrong until the shadow check finds it; then the
// mismatch shows in GetMetrics and Prometheus, the weights are reloaded and answers are golden
// again. A stuck bit disables the engine and the CPU serves golden answers. A bad rate stops the
// start with a message naming the flag.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_data.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

constexpr char kModel[] = "mnist-bnn-tfc";

class ShadowE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto heldout = testing::ReadHeldOutSet(kModel);
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    heldout_ = new testing::TestSet(*std::move(heldout));
  }
  static void TearDownTestSuite() { delete heldout_; }

  void TearDown() override {
    stub_.reset();
    channel_.reset();
    if (daemon_ != nullptr) {
      absl::StatusOr<int> exit_code = daemon_->Stop();
      EXPECT_EQ(exit_code.value_or(-1), 0) << exit_code.status();
    }
  }

  void Start(std::vector<std::string> flags) {
    flags.push_back("--accelerator=fpga");
    flags.push_back("--device=sim");
    flags.push_back("--sim_timing=false");
    flags.push_back("--max_queue_delay_us=100");
    auto daemon = testing::DaemonProcess::Start({.args = flags, .only_models = {kModel}});
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

  // Classifies images [first, first + count) in one request (one batch: requests are sent one
  // after another) and says whether every score is the golden one.
  bool Golden(size_t first, size_t count, std::string* backend = nullptr) {
    v1::ClassifyRequest request;
    request.set_model(kModel);
    for (size_t i = first; i < first + count; ++i) {
      absl::Span<const uint8_t> pixels = heldout_->images.image(i);
      request.add_images(std::string(pixels.begin(), pixels.end()));
    }
    v1::ClassifyResponse response;
    grpc::Status status = stub_->Classify(Context().get(), request, &response);
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

  // Waits until the checker has checked `images` images.
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

  static testing::TestSet* heldout_;
  std::unique_ptr<testing::DaemonProcess> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

testing::TestSet* ShadowE2eTest::heldout_ = nullptr;

TEST_F(ShadowE2eTest, AFlippedWeightBitIsFoundCountedAndCuredByAReload) {
  Start({"--shadow_check_rate=1", "--sim_fault=flip_weight:3"});
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

TEST_F(ShadowE2eTest, AStuckBitDisablesTheEngineAndTheCpuServes) {
  Start({"--shadow_check_rate=1", "--sim_fault=flip_weight:1:0"});
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

TEST_F(ShadowE2eTest, ARateOutsideZeroToOneStopsTheStart) {
  const std::string log = ::testing::TempDir() + "/shadow_e2e_bad_rate.log";
  for (const char* bad : {"--shadow_check_rate=1.5", "--shadow_check_rate=-0.1"}) {
    auto daemon = testing::DaemonProcess::Start({.args = {bad, "--accelerator=fpga", "--device=sim"},
                                                 .log_path = log,
                                                 .only_models = {kModel}});
    EXPECT_EQ(daemon.status().code(), absl::StatusCode::kUnavailable) << bad;
    EXPECT_THAT(std::string(daemon.status().message()), HasSubstr("exited with code 1")) << bad;
    std::ifstream file(log);
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("must be in [0, 1]")) << bad;
  }
}

}  // namespace
}  // namespace pynq
