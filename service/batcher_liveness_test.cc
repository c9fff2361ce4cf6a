// Batcher::DispatchLag(): the liveness figure the systemd watchdog reads. Kept apart from
// batcher_test.cc because it tests one query, not the batching rules.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model_builder.h"
#include "gtest/gtest.h"
#include "service/batcher.h"

namespace pynq::service {
namespace {

// The real CPU backend behind a latch: Run() reports that it started, then blocks until the test
// releases it, the way a hung engine holds the dispatch thread.
class LatchedAccelerator final : public accel::Accelerator {
 public:
  explicit LatchedAccelerator(std::unique_ptr<accel::Accelerator> inner)
      : inner_(std::move(inner)) {}

  const accel::Model& model() const override { return inner_->model(); }
  std::string_view backend_name() const override { return "latched-cpu"; }
  size_t max_batch_size() const override { return inner_->max_batch_size(); }
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override {
    std::unique_lock lock(mu_);
    started_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    return inner_->Run(images, scores);
  }

  void AwaitStarted() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return started_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::unique_ptr<accel::Accelerator> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool released_ = false;
};

class DispatchLagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = *accel::Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec({.seed = 3})));
    image_.assign(model_->input_bytes(), 7);
  }

  std::unique_ptr<Batcher> MakeBatcher(absl::Duration max_queue_delay) {
    auto latched =
        std::make_unique<LatchedAccelerator>(*accel::CpuAccelerator::Create(model_, {}));
    latch_ = latched.get();
    auto batcher = Batcher::Create(
        std::move(latched), {.max_batch_size = 4, .max_queue_delay = max_queue_delay}, &metrics_);
    EXPECT_TRUE(batcher.ok()) << batcher.status();
    return std::move(*batcher);
  }

  std::shared_ptr<InferenceRequest> MakeRequest() {
    return std::make_shared<InferenceRequest>(
        *model_, std::vector<std::string_view>{image_}, [](InferenceRequest&) {});
  }

  std::shared_ptr<const accel::Model> model_;
  std::string image_;
  ModelMetrics metrics_;
  LatchedAccelerator* latch_ = nullptr;
};

TEST_F(DispatchLagTest, IdleWithNothingQueuedHasNoLag) {
  auto batcher = MakeBatcher(absl::Milliseconds(1));
  latch_->Release();
  EXPECT_EQ(batcher->DispatchLag(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
}

TEST_F(DispatchLagTest, ARunThatDoesNotReturnLagsByItsDuration) {
  auto batcher = MakeBatcher(absl::ZeroDuration());
  ASSERT_TRUE(batcher->Submit(MakeRequest()).ok());
  latch_->AwaitStarted();
  const absl::Time after_start = absl::Now();
  // The run began before after_start, so 30 s later it has lasted at least 30 s.
  EXPECT_GE(batcher->DispatchLag(after_start + absl::Seconds(30)), absl::Seconds(30));
  EXPECT_LT(batcher->DispatchLag(after_start + absl::Seconds(30)), absl::Seconds(31));
  latch_->Release();
  batcher->Drain();
  EXPECT_EQ(batcher->DispatchLag(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
}

TEST_F(DispatchLagTest, QueuedWorkLagsOnlyPastTheQueueDelay) {
  // One image never fills the batch of 4, so the thread holds it for the whole 60 s delay: the
  // lag is zero inside the delay and grows past it, as if the thread never came back.
  auto batcher = MakeBatcher(absl::Seconds(60));
  latch_->Release();
  auto request = MakeRequest();
  ASSERT_TRUE(batcher->Submit(request).ok());
  const absl::Time due = request->accepted_at() + absl::Seconds(60);
  EXPECT_EQ(batcher->DispatchLag(due - absl::Seconds(1)), absl::ZeroDuration());
  // Exactly 3 s, less the moments the thread may have come to the queue after the request.
  EXPECT_GT(batcher->DispatchLag(due + absl::Seconds(3)), absl::Seconds(2));
  EXPECT_LE(batcher->DispatchLag(due + absl::Seconds(3)), absl::Seconds(3));
  batcher->Drain();  // dispatches at once
}

}  // namespace
}  // namespace pynq::service
