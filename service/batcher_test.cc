#include "service/batcher.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service {
namespace {

using ::testing::HasSubstr;

// Runs batches on the real CPU backend, but lets a test hold each run until it opens the gate,
// count the batches, and make runs fail: the batcher's rules are about timing and bounds.
class GatedAccelerator final : public accel::Accelerator {
 public:
  explicit GatedAccelerator(std::unique_ptr<accel::Accelerator> inner)
      : inner_(std::move(inner)) {}

  const accel::Model& model() const override { return inner_->model(); }
  std::string_view backend_name() const override { return "gated-cpu"; }
  size_t max_batch_size() const override { return inner_->max_batch_size(); }
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override {
    std::unique_lock lock(mu_);
    ++running_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --running_;
    batch_sizes_.push_back(images.size() / model().input_bytes());
    if (!fail_with_.ok()) return fail_with_;
    return inner_->Run(images, scores);
  }

  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  void FailWith(absl::Status status) {
    std::lock_guard lock(mu_);
    fail_with_ = std::move(status);
  }
  // Blocks until a Run() is waiting at the closed gate.
  void AwaitRunning() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return running_ > 0; });
  }
  std::vector<size_t> batch_sizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }

 private:
  std::unique_ptr<accel::Accelerator> inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;
  int running_ = 0;
  absl::Status fail_with_;
  std::vector<size_t> batch_sizes_;
};

class BatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = *accel::Model::FromBytes(accel::SerializeModel(accel::RandomBnnSpec({.seed = 9})));
    reference_ = *accel::CpuAccelerator::Create(model_, {});
    std::mt19937 rng(1);
    pixels_.resize(256 * model_->input_bytes());
    for (uint8_t& p : pixels_) p = static_cast<uint8_t>(rng());
  }

  // Creates a batcher over a gated CPU backend; the gate starts `open` or closed.
  std::unique_ptr<Batcher> MakeBatcher(const Batcher::Options& options, bool open) {
    auto gated = std::make_unique<GatedAccelerator>(*accel::CpuAccelerator::Create(model_, {}));
    gate_ = gated.get();
    if (open) gate_->Open();
    auto batcher = Batcher::Create(std::move(gated), options, &metrics_);
    EXPECT_TRUE(batcher.ok()) << batcher.status();
    return std::move(*batcher);
  }

  // A request for `count` images starting at test image `first`; `done` counts completions.
  std::shared_ptr<InferenceRequest> MakeRequest(size_t first, size_t count,
                                                std::atomic<int>* done,
                                                InferenceRequest::Options caller = {}) {
    std::vector<std::string_view> images;
    for (size_t i = 0; i < count; ++i) {
      images.emplace_back(
          reinterpret_cast<const char*>(pixels_.data() + (first + i) * model_->input_bytes()),
          model_->input_bytes());
    }
    return std::make_shared<InferenceRequest>(*model_, std::move(images),
                                              [done](InferenceRequest&) { ++*done; },
                                              std::move(caller));
  }

  std::vector<int32_t> ExpectedScores(size_t image) {
    std::vector<int32_t> scores(model_->num_classes());
    EXPECT_TRUE(reference_
                    ->Run(absl::MakeConstSpan(pixels_).subspan(image * model_->input_bytes(),
                                                               model_->input_bytes()),
                          absl::MakeSpan(scores))
                    .ok());
    return scores;
  }

  uint64_t Failures(FailureReason reason) {
    return metrics_.Snapshot(absl::Now()).failures[static_cast<size_t>(reason)];
  }

  static void AwaitCount(const std::atomic<int>& counter, int value) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (counter.load() < value && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    ASSERT_EQ(counter.load(), value);
  }

  std::shared_ptr<const accel::Model> model_;
  std::unique_ptr<accel::CpuAccelerator> reference_;
  std::vector<uint8_t> pixels_;
  ModelMetrics metrics_;
  GatedAccelerator* gate_ = nullptr;
};

TEST_F(BatcherTest, FullBatchDispatchesWithoutWaitingForTheDelay) {
  auto batcher = MakeBatcher({.max_batch_size = 4, .max_queue_delay = absl::Seconds(60)}, true);
  std::atomic<int> done{0};
  std::vector<std::shared_ptr<InferenceRequest>> requests;
  for (size_t i = 0; i < 4; ++i) {
    requests.push_back(MakeRequest(i, 1, &done));
    ASSERT_TRUE(batcher->Submit(requests.back()).ok());
  }
  AwaitCount(done, 4);  // long before the 60 s delay
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(4));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(requests[i]->status().ok());
    EXPECT_EQ(requests[i]->timing(0).batch_size, 4u);
    EXPECT_THAT(requests[i]->scores(0), ::testing::ElementsAreArray(ExpectedScores(i)));
  }
}

TEST_F(BatcherTest, PartialBatchWaitsForTheDelayThenDispatches) {
  const absl::Duration delay = absl::Milliseconds(50);
  auto batcher = MakeBatcher({.max_batch_size = 64, .max_queue_delay = delay}, true);
  std::atomic<int> done{0};
  auto a = MakeRequest(0, 1, &done);
  auto b = MakeRequest(1, 2, &done);
  ASSERT_TRUE(batcher->Submit(a).ok());
  ASSERT_TRUE(batcher->Submit(b).ok());
  AwaitCount(done, 2);
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(3));
  EXPECT_GE(a->timing(0).queue, delay);
  EXPECT_EQ(b->timing(1).batch_size, 3u);
}

TEST_F(BatcherTest, LargeRequestSpansBatchesInOrder) {
  auto batcher = MakeBatcher({.max_batch_size = 4, .max_queue_delay = absl::ZeroDuration()},
                             false);
  std::atomic<int> done{0};
  auto big = MakeRequest(10, 10, &done);
  ASSERT_TRUE(batcher->Submit(big).ok());
  gate_->Open();
  AwaitCount(done, 1);
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(4, 4, 2));
  ASSERT_TRUE(big->status().ok());
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_THAT(big->scores(i), ::testing::ElementsAreArray(ExpectedScores(10 + i))) << i;
  }
  EXPECT_EQ(big->timing(9).batch_size, 2u);
}

TEST_F(BatcherTest, FullQueueRefusesAtOnceWithUnavailable) {
  auto batcher = MakeBatcher(
      {.max_batch_size = 2, .max_queue_delay = absl::ZeroDuration(), .max_queue_images = 5},
      false);
  std::atomic<int> done{0};
  // The first batch (2 images) leaves the queue and blocks in the accelerator ...
  ASSERT_TRUE(batcher->Submit(MakeRequest(0, 2, &done)).ok());
  gate_->AwaitRunning();
  // ... so the queue takes 5 more images, and not one more.
  ASSERT_TRUE(batcher->Submit(MakeRequest(2, 3, &done)).ok());
  ASSERT_TRUE(batcher->Submit(MakeRequest(5, 2, &done)).ok());
  EXPECT_EQ(batcher->queue_depth(), 5u);
  absl::Status full = batcher->Submit(MakeRequest(7, 1, &done));
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(full.message(), HasSubstr("queue is full: 5 images queued"));
  EXPECT_EQ(Failures(FailureReason::kQueueFull), 1u);
  gate_->Open();
  AwaitCount(done, 3);  // everything accepted is answered; the refused request never is
  EXPECT_EQ(batcher->queue_depth(), 0u);
}

TEST_F(BatcherTest, DrainAnswersEverythingAcceptedThenRefuses) {
  auto batcher = MakeBatcher({.max_batch_size = 8, .max_queue_delay = absl::Seconds(60)}, false);
  std::atomic<int> done{0};
  std::vector<std::shared_ptr<InferenceRequest>> requests;
  for (size_t i = 0; i < 20; ++i) {
    requests.push_back(MakeRequest(i, 1 + i % 3, &done));
    ASSERT_TRUE(batcher->Submit(requests.back()).ok());
  }
  gate_->Open();
  batcher->Drain();  // does not wait out the 60 s delay: a draining batcher dispatches at once
  EXPECT_EQ(done.load(), 20);
  for (const auto& r : requests) EXPECT_TRUE(r->status().ok());
  absl::Status late = batcher->Submit(MakeRequest(0, 1, &done));
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(late.message(), HasSubstr("shutting down"));
  EXPECT_EQ(Failures(FailureReason::kShuttingDown), 1u);
}

TEST_F(BatcherTest, StopAcceptingRefusesAtOnceAndStillAnswersWhatItAccepted) {
  auto batcher = MakeBatcher({.max_batch_size = 8, .max_queue_delay = absl::Seconds(60)}, false);
  std::atomic<int> done{0};
  std::vector<std::shared_ptr<InferenceRequest>> requests;
  for (size_t i = 0; i < 5; ++i) {
    requests.push_back(MakeRequest(i, 1, &done));
    ASSERT_TRUE(batcher->Submit(requests.back()).ok());
  }
  batcher->StopAccepting();  // returns while the gate still holds the accepted requests
  absl::Status late = batcher->Submit(MakeRequest(5, 1, &done));
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(late.message(), HasSubstr("shutting down"));
  EXPECT_EQ(Failures(FailureReason::kShuttingDown), 1u);
  EXPECT_EQ(done.load(), 0);
  gate_->Open();
  AwaitCount(done, 5);  // dispatched without waiting out the 60 s delay
  for (const auto& r : requests) EXPECT_TRUE(r->status().ok());
  batcher->Drain();
}

TEST_F(BatcherTest, FailedRunFailsEveryRequestInTheBatchOnce) {
  auto batcher = MakeBatcher({.max_batch_size = 8, .max_queue_delay = absl::Seconds(60)}, false);
  gate_->FailWith(absl::InternalError("engine on fire"));
  std::atomic<int> done{0};
  auto a = MakeRequest(0, 3, &done);
  auto b = MakeRequest(3, 5, &done);
  ASSERT_TRUE(batcher->Submit(a).ok());
  ASSERT_TRUE(batcher->Submit(b).ok());
  gate_->Open();
  AwaitCount(done, 2);
  for (const auto& r : {a, b}) {
    EXPECT_EQ(r->status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(r->status().message(), HasSubstr("gated-cpu backend failed on a batch of 8"));
    EXPECT_THAT(r->status().message(), HasSubstr("engine on fire"));
  }
  EXPECT_EQ(metrics_.Snapshot(absl::Now()).batches, 0u);
  EXPECT_EQ(metrics_.Snapshot(absl::Now()).batches_failed, 1u);
}

TEST_F(BatcherTest, ConcurrentSubmittersAllGetTheirOwnScores) {
  auto batcher = MakeBatcher({.max_batch_size = 16, .max_queue_delay = absl::Microseconds(200),
                              .max_queue_images = 100000},
                             true);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> done{0};
  std::vector<std::vector<std::shared_ptr<InferenceRequest>>> requests(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const size_t first = (t * kPerThread + i) % 250;
        requests[t].push_back(MakeRequest(first, 1 + i % 5, &done));
        EXPECT_TRUE(batcher->Submit(requests[t].back()).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  AwaitCount(done, kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const size_t first = (t * kPerThread + i) % 250;
      const auto& r = requests[t][i];
      for (size_t k = 0; k < r->image_count(); ++k) {
        ASSERT_THAT(r->scores(k), ::testing::ElementsAreArray(ExpectedScores(first + k)));
        ASSERT_LE(r->timing(k).batch_size, 16u);
      }
    }
  }
}

TEST_F(BatcherTest, PreferredSizeDispatchesAtOnceWhenFilled) {
  auto batcher = MakeBatcher({.max_batch_size = 8,
                              .max_queue_delay = absl::Seconds(60),
                              .preferred_batch_sizes = {4}},
                             false);
  std::atomic<int> done{0};
  for (size_t i = 0; i < 4; ++i) ASSERT_TRUE(batcher->Submit(MakeRequest(i, 1, &done)).ok());
  gate_->Open();
  AwaitCount(done, 4);  // long before the 60 s delay, and without waiting for 8
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(4));
}

TEST_F(BatcherTest, DelayDispatchesTheLargestPreferredSizeThatFills) {
  auto batcher = MakeBatcher({.max_batch_size = 8,
                              .max_queue_delay = absl::Milliseconds(50),
                              .preferred_batch_sizes = {4, 2}},
                             true);
  EXPECT_THAT(batcher->options().preferred_batch_sizes, ::testing::ElementsAre(2, 4));
  std::atomic<int> done{0};
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(batcher->Submit(MakeRequest(i, 1, &done)).ok());
  AwaitCount(done, 3);
  // Three images fill 2 but not 4: a batch of 2, then the last image alone (it fills no
  // preferred size, and its delay has run out too).
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(2, 1));
}

TEST_F(BatcherTest, RequestWhoseDeadlinePassesInTheQueueIsNeverDispatched) {
  auto batcher = MakeBatcher({.max_batch_size = 1, .max_queue_delay = absl::ZeroDuration()},
                             false);
  std::atomic<int> done{0};
  // The first request occupies the accelerator while the others queue behind it.
  ASSERT_TRUE(batcher->Submit(MakeRequest(0, 1, &done)).ok());
  gate_->AwaitRunning();
  auto late = MakeRequest(1, 3, &done, {.deadline = absl::Now() + absl::Milliseconds(20)});
  auto patient = MakeRequest(4, 1, &done);
  ASSERT_TRUE(batcher->Submit(late).ok());
  ASSERT_TRUE(batcher->Submit(patient).ok());
  absl::SleepFor(absl::Milliseconds(60));
  gate_->Open();
  AwaitCount(done, 3);
  EXPECT_EQ(late->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(late->status().message(), HasSubstr("deadline passed"));
  EXPECT_TRUE(patient->status().ok());
  EXPECT_THAT(patient->scores(0), ::testing::ElementsAreArray(ExpectedScores(4)));
  // Only the first and the patient request ran: the expired one's 3 images never did.
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(1, 1));
  EXPECT_EQ(batcher->queue_depth(), 0u);
}

TEST_F(BatcherTest, RequestPastItsDeadlineIsRefusedAtSubmit) {
  auto batcher = MakeBatcher({}, true);
  std::atomic<int> done{0};
  absl::Status refused = batcher->Submit(
      MakeRequest(0, 1, &done, {.deadline = absl::Now() - absl::Milliseconds(1)}));
  EXPECT_EQ(refused.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Failures(FailureReason::kDeadlineExceeded), 1u);
  EXPECT_EQ(batcher->queue_depth(), 0u);
}

TEST_F(BatcherTest, CancelledRequestIsRemovedBeforeDispatch) {
  auto batcher = MakeBatcher({.max_batch_size = 2, .max_queue_delay = absl::ZeroDuration()},
                             false);
  std::atomic<int> done{0};
  std::atomic<bool> caller_gone{false};
  ASSERT_TRUE(batcher->Submit(MakeRequest(0, 2, &done)).ok());
  gate_->AwaitRunning();
  // A request split over two batches, whose caller goes away while it waits.
  auto cancelled =
      MakeRequest(2, 4, &done, {.is_cancelled = [&caller_gone] { return caller_gone.load(); }});
  auto kept = MakeRequest(6, 1, &done);
  ASSERT_TRUE(batcher->Submit(cancelled).ok());
  ASSERT_TRUE(batcher->Submit(kept).ok());
  caller_gone = true;
  gate_->Open();
  AwaitCount(done, 3);
  EXPECT_EQ(cancelled->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(kept->status().ok());
  EXPECT_THAT(gate_->batch_sizes(), ::testing::ElementsAre(2, 1));
}

// Runs batches on the CPU backend and reports that two may run at once; each run waits (a
// bounded time) for a second one to start, and records how many ran together at most.
class OverlapAccelerator final : public accel::Accelerator {
 public:
  explicit OverlapAccelerator(std::unique_ptr<accel::Accelerator> inner)
      : inner_(std::move(inner)) {}

  const accel::Model& model() const override { return inner_->model(); }
  std::string_view backend_name() const override { return "overlap-cpu"; }
  size_t max_batch_size() const override { return inner_->max_batch_size(); }
  size_t max_concurrent_runs() const override { return 2; }
  absl::Status Run(absl::Span<const uint8_t> images, absl::Span<int32_t> scores) override {
    {
      std::unique_lock lock(mu_);
      ++running_;
      peak_ = std::max(peak_, running_);
      changed_.notify_all();
      changed_.wait_for(lock, std::chrono::seconds(10), [this] { return peak_ >= 2; });
    }
    // The inner CPU backend allows one run at a time.
    absl::Status status;
    {
      std::lock_guard inner_lock(inner_mu_);
      status = inner_->Run(images, scores);
    }
    std::lock_guard lock(mu_);
    --running_;
    return status;
  }

  int peak() {
    std::lock_guard lock(mu_);
    return peak_;
  }

 private:
  std::unique_ptr<accel::Accelerator> inner_;
  std::mutex inner_mu_;
  std::mutex mu_;
  std::condition_variable changed_;
  int running_ = 0;
  int peak_ = 0;
};

TEST_F(BatcherTest, TwoBatchesInFlightWhenTheBackendAllows) {
  auto overlap = std::make_unique<OverlapAccelerator>(*accel::CpuAccelerator::Create(model_, {}));
  OverlapAccelerator* accelerator = overlap.get();
  auto batcher = Batcher::Create(std::move(overlap),
                                 {.max_batch_size = 4, .max_queue_delay = absl::ZeroDuration()},
                                 &metrics_);
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  EXPECT_EQ((*batcher)->batches_in_flight(), 2u);
  std::atomic<int> done{0};
  std::vector<std::shared_ptr<InferenceRequest>> requests;
  for (size_t i = 0; i < 4; ++i) {
    requests.push_back(MakeRequest(4 * i, 4, &done));
    ASSERT_TRUE((*batcher)->Submit(requests.back()).ok());
  }
  AwaitCount(done, 4);
  EXPECT_EQ(accelerator->peak(), 2);
  for (size_t i = 0; i < 4; ++i) {
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_THAT(requests[i]->scores(k), ::testing::ElementsAreArray(ExpectedScores(4 * i + k)));
    }
  }
}

TEST_F(BatcherTest, MoreBatchesInFlightThanTheBackendAllowsIsRejected) {
  absl::Status status =
      Batcher::Create(*accel::CpuAccelerator::Create(model_, {}), {.max_batches_in_flight = 2},
                      &metrics_)
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("the cpu backend runs at most 1 at once"));
}

TEST_F(BatcherTest, CreateRejectsBadOptions) {
  auto cpu = [&] { return *accel::CpuAccelerator::Create(model_, {.max_batch_size = 8}); };
  EXPECT_EQ(Batcher::Create(cpu(), {.max_batch_size = 0}, &metrics_).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status too_big = Batcher::Create(cpu(), {.max_batch_size = 9}, &metrics_).status();
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.message(), HasSubstr("exceeds the cpu backend's maximum of 8"));
  EXPECT_EQ(Batcher::Create(cpu(), {.max_queue_images = 0}, &metrics_).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status preferred =
      Batcher::Create(cpu(), {.max_batch_size = 8, .preferred_batch_sizes = {4, 16}}, &metrics_)
          .status();
  EXPECT_EQ(preferred.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(preferred.message(), HasSubstr("preferred batch sizes [4, 16]"));
}

}  // namespace
}  // namespace pynq::service
