// Drives unary Classify calls through gRPC's callback API: closed loop (a fixed number of calls in
// flight, each answer starting the next) or open loop (calls started on a schedule, at a constant
// rate or with Poisson arrivals, whether or not earlier ones have been answered). The load
// generator behind `pynq-infer bench` measures with it; the overload end-to-end test swamps the
// daemon with it.
//
//   std::vector<ClassifyRequest> requests = ...;
//   absl::StatusOr<std::unique_ptr<ClassifyDriver>> driver = ClassifyDriver::Create(channel, {
//       .concurrency = 16,
//       .request = [&](uint64_t index, ClassifyRequest&) -> const ClassifyRequest& {
//         return requests[index % requests.size()];
//       },
//       .on_done = [&](const ClassifyDriver::Completion& c) { recorder.Add(c); }});
//   if (!driver.ok()) return driver.status();
//   (*driver)->Start();
//   absl::SleepFor(absl::Seconds(10));
//   (*driver)->Stop();  // no new call starts; waits until every call started has ended
//
// The driver only starts calls and reports how each ended; what a right answer is, and what to
// count, is the caller's (in `on_done`).
#ifndef PYNQ_CLIENTS_CLASSIFY_DRIVER_H_
#define PYNQ_CLIENTS_CLASSIFY_DRIVER_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {

// When calls start.
enum class Arrival {
  kClosedLoop,  // `concurrency` calls always in flight: each answer starts the next
  kConstant,    // open loop: a call every 1/rate seconds
  kPoisson,     // open loop: exponentially distributed gaps with mean 1/rate seconds
};

class ClassifyDriver {
 public:
  using Clock = std::chrono::steady_clock;

  // How one call ended. The references are valid only during the `on_done` call.
  struct Completion {
    // The call's place in the order calls were started: 0, 1, 2, ...
    uint64_t index;
    const grpc::Status& status;
    // The answer; meaningful only when status.ok().
    const pynq_infer::v1::ClassifyResponse& response;
    // When the call was due: open loop, its scheduled time (a late sender does not hide the
    // wait); closed loop, when it was started.
    Clock::time_point due;
    // When the answer arrived.
    Clock::time_point done;
  };

  // Returns the request of call `index`. The request must stay valid and unchanged until that
  // call's `on_done` has returned: a request the caller keeps, or `scratch`, the call's own empty
  // request, filled in. Called on the thread calling Start(), on the open loop's sender thread
  // and on gRPC's threads, possibly at once: must be thread-safe.
  using RequestFn = std::function<const pynq_infer::v1::ClassifyRequest&(
      uint64_t index, pynq_infer::v1::ClassifyRequest& scratch)>;
  // Told how each call ended, exactly once per call started, on gRPC's threads (possibly several
  // at once): must be thread-safe, should return quickly (it holds a gRPC thread, and in the
  // closed loop the next call starts after it returns), and must not call Stop() or destroy the
  // driver.
  using DoneFn = std::function<void(const Completion&)>;

  struct Options {
    Arrival arrival = Arrival::kClosedLoop;
    // Closed loop: calls in flight; at least 1.
    uint32_t concurrency = 1;
    // Open loop: calls started per second; positive and finite.
    double rate_per_s = 0;
    // Open loop: most calls outstanding; a call due while this many are outstanding is not
    // started, and is counted in dropped(). At least 1.
    uint32_t max_outstanding = 20000;
    // Seeds the Poisson arrivals.
    uint64_t seed = 1;
    // Deadline of each call, from when it starts; positive.
    absl::Duration call_timeout = absl::Seconds(10);
    // Both required.
    RequestFn request;
    DoneFn on_done;
  };

  // A driver of calls over `channel` (shared; it may be in-process). INVALID_ARGUMENT, naming the
  // option, for options out of range or a missing function. Starts nothing. Thread-safe.
  static absl::StatusOr<std::unique_ptr<ClassifyDriver>> Create(
      std::shared_ptr<grpc::ChannelInterface> channel, Options options);

  // Stop(): blocks until every call started has ended (each has a deadline, so this ends).
  ~ClassifyDriver();

  ClassifyDriver(const ClassifyDriver&) = delete;
  ClassifyDriver& operator=(const ClassifyDriver&) = delete;

  // Starts the load and returns: closed loop, after starting the first `concurrency` calls; open
  // loop, after starting the sender thread. Call once, from one thread.
  void Start();

  // Stops starting calls (once it returns, no call starts again) and waits until every call
  // started has ended, or `timeout` has passed. Returns how many calls are still unanswered: 0
  // unless the wait timed out. Call from one thread at a time, not from `on_done`; may be called
  // again, e.g. with a longer timeout.
  size_t Stop(absl::Duration timeout = absl::InfiniteDuration());

  // Calls started so far. Thread-safe.
  uint64_t sent() const;
  // Open loop: calls not started because max_outstanding were outstanding. Thread-safe.
  uint64_t dropped() const;

 private:
  struct Call;

  ClassifyDriver(std::shared_ptr<grpc::ChannelInterface> channel, Options options);

  // Starts one call due at `due`, unless stopping.
  void Issue(Clock::time_point due);
  void OnDone(Call* call, const grpc::Status& status);
  // The open loop's sender thread.
  void SendOnSchedule();

  const Options options_;
  const std::unique_ptr<pynq_infer::v1::Inference::Stub> stub_;
  std::thread sender_;

  mutable std::mutex mu_;
  // Signalled when stopping_ is set (wakes the sender) and when outstanding_ drops to 0.
  std::condition_variable changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_CLASSIFY_DRIVER_H_
