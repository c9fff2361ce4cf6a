// ClassifyDriver against a real gRPC server in the same process, whose Classify the test controls:
// it answers at once, or holds every call until the test releases it, so what is in flight at any
// moment is known exactly.
#include "clients/classify_driver.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using ::testing::HasSubstr;

// How long a test waits for something it expects to happen.
constexpr absl::Duration kPatience = absl::Seconds(30);

// Answers each request with its tag and one result per image; model "refuse" gets UNAVAILABLE.
// While holding, keeps every call unanswered until Release().
class ControlledInference final : public pynq_infer::v1::Inference::CallbackService {
 public:
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const ClassifyRequest* request,
                                     ClassifyResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->model() == "refuse") {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused on purpose"));
      return reactor;
    }
    response->set_tag(request->tag());
    for (int i = 0; i < request->images_size(); ++i) response->add_results();
    std::lock_guard lock(mu_);
    ++received_;
    if (holding_) {
      held_.push_back(reactor);
      changed_.notify_all();
    } else {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  void Hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }

  // Answers the calls held so far; keeps holding new ones only if `keep_holding`.
  void Release(bool keep_holding) {
    std::vector<grpc::ServerUnaryReactor*> held;
    {
      std::lock_guard lock(mu_);
      holding_ = keep_holding;
      held.swap(held_);
    }
    for (grpc::ServerUnaryReactor* reactor : held) reactor->Finish(grpc::Status::OK);
  }

  // Waits until `n` calls are held; false after kPatience.
  bool AwaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoNanoseconds(kPatience),
                             [&] { return held_.size() >= n; });
  }

  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool holding_ = false;
  uint64_t received_ = 0;
  std::vector<grpc::ServerUnaryReactor*> held_;
};

// What on_done saw, from gRPC's threads.
class Completions {
 public:
  struct Entry {
    uint64_t index;
    grpc::StatusCode code;
    std::string message;
    uint64_t tag;
    int results;
    ClassifyDriver::Clock::time_point due;
    ClassifyDriver::Clock::time_point done;
  };

  void Add(const ClassifyDriver::Completion& c) {
    std::lock_guard lock(mu_);
    entries_.push_back({c.index, c.status.error_code(), c.status.error_message(), c.response.tag(),
                        c.response.results_size(), c.due, c.done});
  }

  // Sorted by index.
  std::vector<Entry> entries() {
    std::lock_guard lock(mu_);
    std::vector<Entry> sorted = entries_;
    std::sort(sorted.begin(), sorted.end(),
              [](const Entry& a, const Entry& b) { return a.index < b.index; });
    return sorted;
  }

  size_t size() {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  std::mutex mu_;
  std::vector<Entry> entries_;
};

class ClassifyDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }

  void TearDown() override {
    service_.Release(/*keep_holding=*/false);
    server_->Shutdown();
  }

  // Options whose requests are `images` images of model `model`, tagged with their index (built
  // in the call's scratch request).
  ClassifyDriver::Options Tagged(ClassifyDriver::Options options, std::string model = "m",
                                 int images = 2) {
    options.request = [model, images](uint64_t index,
                                      ClassifyRequest& scratch) -> const ClassifyRequest& {
      scratch.set_model(model);
      scratch.set_tag(index);
      for (int i = 0; i < images; ++i) scratch.add_images("pixels");
      return scratch;
    };
    options.on_done = [this](const ClassifyDriver::Completion& c) { completions_.Add(c); };
    return options;
  }

  std::unique_ptr<ClassifyDriver> Make(ClassifyDriver::Options options) {
    absl::StatusOr<std::unique_ptr<ClassifyDriver>> driver =
        ClassifyDriver::Create(channel_, std::move(options));
    EXPECT_TRUE(driver.ok()) << driver.status();
    return driver.ok() ? *std::move(driver) : nullptr;
  }

  ControlledInference service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  Completions completions_;
};

TEST_F(ClassifyDriverTest, ClosedLoopKeepsConcurrencyInFlightAndEachAnswerStartsTheNext) {
  service_.Hold();
  std::unique_ptr<ClassifyDriver> driver = Make(Tagged({.concurrency = 5}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  ASSERT_TRUE(service_.AwaitHeld(5));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(service_.held(), 5u) << "more than the concurrency in flight";
  EXPECT_EQ(driver->sent(), 5u);

  service_.Release(/*keep_holding=*/true);  // five answers: five new calls
  ASSERT_TRUE(service_.AwaitHeld(5));
  EXPECT_EQ(driver->sent(), 10u);
  EXPECT_EQ(completions_.size(), 5u);

  service_.Release(/*keep_holding=*/false);
  EXPECT_EQ(driver->Stop(), 0u);
  const std::vector<Completions::Entry> done = completions_.entries();
  ASSERT_EQ(done.size(), driver->sent());
  for (size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].index, i);
    EXPECT_EQ(done[i].code, grpc::StatusCode::OK) << done[i].message;
    EXPECT_EQ(done[i].tag, i) << "the response is not the one to this call's request";
    EXPECT_EQ(done[i].results, 2);
    EXPECT_LE(done[i].due, done[i].done);
  }
  // Each call of the second round was due when an answer of the first came.
  for (size_t i = 5; i < 10; ++i) {
    EXPECT_TRUE(std::any_of(done.begin(), done.begin() + 5,
                            [&](const Completions::Entry& e) { return e.done == done[i].due; }))
        << i;
  }
}

TEST_F(ClassifyDriverTest, StopStartsNothingMoreAndWaitsForEveryCallStarted) {
  service_.Hold();
  std::unique_ptr<ClassifyDriver> driver = Make(Tagged({.concurrency = 3}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  ASSERT_TRUE(service_.AwaitHeld(3));
  EXPECT_EQ(driver->Stop(absl::Milliseconds(50)), 3u) << "returned before the calls ended";
  service_.Release(/*keep_holding=*/true);
  EXPECT_EQ(driver->Stop(), 0u);
  EXPECT_EQ(completions_.size(), 3u);
  EXPECT_EQ(driver->sent(), 3u) << "the answers after Stop() started new calls";
  EXPECT_EQ(service_.held(), 0u);
}

TEST_F(ClassifyDriverTest, RequestsTheCallerKeepsAreSentAsTheyAre) {
  const std::vector<ClassifyRequest> requests = [] {
    std::vector<ClassifyRequest> r(3);
    for (int j = 0; j < 3; ++j) {
      r[j].set_model("m");
      r[j].set_tag(100 + j);
      for (int i = 0; i <= j; ++i) r[j].add_images("x");
    }
    return r;
  }();
  std::unique_ptr<ClassifyDriver> driver = Make(
      {.concurrency = 2,
       .request = [&](uint64_t index, ClassifyRequest&) -> const ClassifyRequest& {
         return requests[index % requests.size()];
       },
       .on_done = [&](const ClassifyDriver::Completion& c) { completions_.Add(c); }});
  ASSERT_NE(driver, nullptr);
  driver->Start();
  const absl::Time give_up = absl::Now() + kPatience;
  while (completions_.size() < 30 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(driver->Stop(), 0u);
  const std::vector<Completions::Entry> done = completions_.entries();
  ASSERT_GE(done.size(), 30u);
  for (const Completions::Entry& e : done) {
    EXPECT_EQ(e.tag, 100 + e.index % 3);
    EXPECT_EQ(e.results, static_cast<int>(e.index % 3) + 1);
  }
}

TEST_F(ClassifyDriverTest, FailedCallsAreReportedWithTheirStatus) {
  std::unique_ptr<ClassifyDriver> driver = Make(Tagged({.concurrency = 1}, "refuse"));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  const absl::Time give_up = absl::Now() + kPatience;
  while (completions_.size() < 3 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(driver->Stop(), 0u);
  ASSERT_GE(completions_.size(), 3u);
  for (const Completions::Entry& e : completions_.entries()) {
    EXPECT_EQ(e.code, grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(e.message, "refused on purpose");
  }
}

TEST_F(ClassifyDriverTest, ACallNeverAnsweredEndsAtItsDeadline) {
  service_.Hold();
  std::unique_ptr<ClassifyDriver> driver =
      Make(Tagged({.concurrency = 1, .call_timeout = absl::Milliseconds(100)}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  ASSERT_TRUE(service_.AwaitHeld(1));
  const absl::Time give_up = absl::Now() + kPatience;
  while (completions_.size() < 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(driver->Stop(), 0u);
  ASSERT_GE(completions_.size(), 1u);
  EXPECT_EQ(completions_.entries()[0].code, grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(ClassifyDriverTest, ConstantArrivalsAreDueExactlyOneGapApart) {
  std::unique_ptr<ClassifyDriver> driver =
      Make(Tagged({.arrival = Arrival::kConstant, .rate_per_s = 500}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  const absl::Time give_up = absl::Now() + kPatience;
  while (completions_.size() < 50 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(driver->Stop(), 0u);
  const std::vector<Completions::Entry> done = completions_.entries();
  ASSERT_GE(done.size(), 50u);
  const auto gap = std::chrono::duration_cast<ClassifyDriver::Clock::duration>(
      std::chrono::duration<double>(1.0 / 500));
  for (size_t i = 1; i < done.size(); ++i) EXPECT_EQ(done[i].due - done[i - 1].due, gap) << i;
  EXPECT_EQ(driver->dropped(), 0u);
}

TEST_F(ClassifyDriverTest, PoissonArrivalsHaveTheRateOnAverageAndVary) {
  std::unique_ptr<ClassifyDriver> driver =
      Make(Tagged({.arrival = Arrival::kPoisson, .rate_per_s = 1000, .seed = 7}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  const absl::Time give_up = absl::Now() + kPatience;
  while (completions_.size() < 400 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(driver->Stop(), 0u);
  const std::vector<Completions::Entry> done = completions_.entries();
  ASSERT_GE(done.size(), 400u);
  // The due times come from the seeded generator, not the clock: these figures are fixed.
  std::vector<double> gaps_us;
  for (size_t i = 1; i < 400; ++i) {
    gaps_us.push_back(std::chrono::duration<double, std::micro>(done[i].due - done[i - 1].due)
                          .count());
  }
  double mean = 0;
  for (double g : gaps_us) mean += g / static_cast<double>(gaps_us.size());
  EXPECT_NEAR(mean, 1000, 150);  // 399 exponential gaps: the standard error is 5%
  EXPECT_LT(*std::min_element(gaps_us.begin(), gaps_us.end()), 100);
  EXPECT_GT(*std::max_element(gaps_us.begin(), gaps_us.end()), 3000);
}

TEST_F(ClassifyDriverTest, OpenLoopDropsCallsDueWhileMaxOutstandingAreOutstanding) {
  service_.Hold();
  std::unique_ptr<ClassifyDriver> driver = Make(
      Tagged({.arrival = Arrival::kConstant, .rate_per_s = 1000, .max_outstanding = 4}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  ASSERT_TRUE(service_.AwaitHeld(4));
  const absl::Time give_up = absl::Now() + kPatience;
  while (driver->dropped() < 10 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_GE(driver->dropped(), 10u);
  EXPECT_EQ(driver->sent(), 4u);
  service_.Release(/*keep_holding=*/false);
  EXPECT_EQ(driver->Stop(), 0u);
  EXPECT_EQ(completions_.size(), driver->sent());
}

TEST_F(ClassifyDriverTest, DestroyingTheDriverWaitsForItsCalls) {
  service_.Hold();
  std::unique_ptr<ClassifyDriver> driver = Make(Tagged({.concurrency = 2}));
  ASSERT_NE(driver, nullptr);
  driver->Start();
  ASSERT_TRUE(service_.AwaitHeld(2));
  std::thread release([this] {
    absl::SleepFor(absl::Milliseconds(100));
    service_.Release(/*keep_holding=*/true);
  });
  driver.reset();
  EXPECT_EQ(completions_.size(), 2u);
  release.join();
}

TEST_F(ClassifyDriverTest, OptionsOutOfRangeAreInvalidArgumentNamingThem) {
  struct Case {
    ClassifyDriver::Options options;
    std::string message;
  };
  const Case cases[] = {
      {Tagged({.concurrency = 0}), "concurrency of at least 1"},
      {Tagged({.arrival = Arrival::kConstant}), "positive request rate, got 0"},
      {Tagged({.arrival = Arrival::kPoisson, .rate_per_s = INFINITY}), "positive request rate"},
      {Tagged({.arrival = Arrival::kConstant, .rate_per_s = 10, .max_outstanding = 0}),
       "max_outstanding of at least 1"},
      {Tagged({.call_timeout = absl::ZeroDuration()}), "call timeout must be positive"},
      {{.concurrency = 1}, "needs both a request and an on_done function"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<ClassifyDriver>> driver =
        ClassifyDriver::Create(channel_, c.options);
    EXPECT_EQ(driver.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(driver.status().message(), HasSubstr(c.message));
  }
  EXPECT_EQ(ClassifyDriver::Create(nullptr, Tagged({})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::clients
