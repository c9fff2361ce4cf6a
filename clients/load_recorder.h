// The answers of one load level as the load generator's drivers record them (load_generator.cc
// for gRPC, rest_load_driver.h for HTTP): when each request finished, its latency, its images
// and its outcome.
//
//   Recorder recorder;
//   recorder.Add(Clock::now(), latency, /*images=*/1, absl::StatusCode::kOk);
//   std::vector<Sample> window = recorder.Between(from, to);
//
// Thread-safe. One mutex for the whole client is fine here: it guards a push_back, and the client
// is not what is measured.
#ifndef PYNQ_CLIENTS_LOAD_RECORDER_H_
#define PYNQ_CLIENTS_LOAD_RECORDER_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pynq::clients {

using Clock = std::chrono::steady_clock;

struct Sample {
  Clock::time_point done;
  absl::Duration latency;
  uint32_t images;
  absl::StatusCode code;
};

class Recorder {
 public:
  void Add(Clock::time_point done, absl::Duration latency, uint32_t images, absl::StatusCode code) {
    std::lock_guard lock(mu_);
    samples_.push_back({done, latency, images, code});
  }
  // The samples completed in [from, to).
  std::vector<Sample> Between(Clock::time_point from, Clock::time_point to) const {
    std::lock_guard lock(mu_);
    std::vector<Sample> out;
    for (const Sample& s : samples_) {
      if (s.done >= from && s.done < to) out.push_back(s);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Sample> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_LOAD_RECORDER_H_
