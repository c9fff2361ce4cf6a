// The batcher's gain on the virtual board, as a ratio measured in one run: pynq-inferd on the FPGA
// backend over SimDevice with the engine's timing model on (each engine call costs its modeled
// cycles at --sim_clock_mhz plus a fixed per-call overhead, as a dispatch does on a board), started
// twice, one batching up to --max_batch_size images per dispatch and one with batches of 1 (same
// --max_queue_delay_us), under the same closed-loop unary load (pynq-infer bench's load
// generator, 1 image per request), alternating round by round so both see the same machine.
//
//   build/bench/batching_gain [--rounds=3] [--concurrency=64] [--max_batch_size=64]
//                             [--max_queue_delay_us=500]
//
// Prints, per round and daemon, images/s, client p50/p99 and the server's mean images and
// accelerator time per batch (from GetMetrics); then the median gain (target >= 5x) and the
// batched daemon's median p99 next to its bound, max queue delay + 2 batch times: a request waits
// at most the queue delay for its batch to form, then behind at most one batch already on the
// engine, then its own. Exits 0 when both hold, 2 when either does not, 1 when a run cannot be
// made.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/median.h"
#include "clients/load_generator.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tests/support/daemon_process.h"

ABSL_FLAG(std::string, model, "mnist-bnn-tfc", "Shipped model to serve; the engine must run it.");
ABSL_FLAG(uint32_t, concurrency, 64, "Requests in flight, 1 image each.");
ABSL_FLAG(int, max_batch_size, 64, "The batched daemon's --max_batch_size.");
ABSL_FLAG(int, max_queue_delay_us, 500, "Both daemons' --max_queue_delay_us.");
ABSL_FLAG(double, sim_clock_mhz, 100, "The timing model's engine clock, MHz.");
ABSL_FLAG(int, rounds, 3, "Alternating rounds; the median gain and p99 are reported.");
ABSL_FLAG(double, target_gain, 5, "Target for batched / batch-1 images/s.");
ABSL_FLAG(uint32_t, warmup_ms, 500, "Warm-up per run.");
ABSL_FLAG(uint32_t, measure_ms, 1000, "Measurement window.");
ABSL_FLAG(uint32_t, max_windows, 4, "Most windows per run.");

namespace {

using pynq::clients::LevelResult;
using pynq::clients::LoadMode;
using pynq::clients::LoadSpec;
using pynq::testing::DaemonProcess;

// Starts the daemon on the virtual board with `max_batch_size`.
absl::StatusOr<std::unique_ptr<DaemonProcess>> StartDaemon(int max_batch_size,
                                                           const std::string& model) {
  return DaemonProcess::Start(
      {.binary = PYNQ_INFERD,
       .args = {"--accelerator=fpga", "--device=sim", "--sim_timing=true",
                absl::StrCat("--sim_clock_mhz=", absl::GetFlag(FLAGS_sim_clock_mhz)),
                absl::StrCat("--max_batch_size=", max_batch_size),
                absl::StrCat("--max_queue_delay_us=", absl::GetFlag(FLAGS_max_queue_delay_us)),
                "--metrics_log_interval_s=0", "--log_level=warn"},
       .only_models = {model}});
}

}  // namespace

using pynq::bench::Median;

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_rounds) < 1) {
    std::fprintf(stderr, "--rounds must be at least 1, got %d\n", absl::GetFlag(FLAGS_rounds));
    return 1;
  }

  const LoadSpec spec{.model = absl::GetFlag(FLAGS_model),
                      .mode = LoadMode::kUnary,
                      .images_per_request = 1,
                      .concurrency = absl::GetFlag(FLAGS_concurrency),
                      .warmup = absl::Milliseconds(absl::GetFlag(FLAGS_warmup_ms)),
                      .window = absl::Milliseconds(absl::GetFlag(FLAGS_measure_ms)),
                      .max_windows = absl::GetFlag(FLAGS_max_windows)};
  const std::vector<std::string> images = pynq::clients::SyntheticImages(784, 64, /*seed=*/1);
  const int batch_sizes[2] = {absl::GetFlag(FLAGS_max_batch_size), 1};
  std::unique_ptr<DaemonProcess> daemons[2];
  for (int d = 0; d < 2; ++d) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        StartDaemon(batch_sizes[d], spec.model);
    if (!daemon.ok()) {
      std::fprintf(stderr, "cannot start the daemon with --max_batch_size=%d: %s\n",
                   batch_sizes[d], daemon.status().ToString().c_str());
      return 1;
    }
    daemons[d] = *std::move(daemon);
  }

  std::printf("%-5s %-9s %12s %9s %9s %13s %15s\n", "round", "max_batch", "images/s", "p50_ms",
              "p99_ms", "server_batch", "server_batch_us");
  std::vector<double> gains, batched_p99_ms, batch_us;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    double images_per_s[2] = {0, 0};
    for (int d = 0; d < 2; ++d) {
      // A fresh channel per level: neither daemon inherits the other's connection state.
      auto channel =
          grpc::CreateChannel(daemons[d]->address(), grpc::InsecureChannelCredentials());
      absl::StatusOr<LevelResult> r = pynq::clients::RunLoadLevel(channel, spec, images);
      if (!r.ok()) {
        std::fprintf(stderr, "load on the daemon with --max_batch_size=%d: %s\n", batch_sizes[d],
                     r.status().ToString().c_str());
        return 1;
      }
      if (r->images_per_s <= 0 || r->server_compute_us <= 0) {
        std::fprintf(stderr, "the daemon with --max_batch_size=%d served nothing\n",
                     batch_sizes[d]);
        return 1;
      }
      images_per_s[d] = r->images_per_s;
      if (d == 0) {
        batched_p99_ms.push_back(absl::ToDoubleMilliseconds(r->latency_p99));
        batch_us.push_back(r->server_compute_us);
      }
      std::printf("%-5d %-9d %12.1f %9.3f %9.3f %13.1f %15.1f%s\n", round + 1, batch_sizes[d],
                  r->images_per_s, absl::ToDoubleMilliseconds(r->latency_p50),
                  absl::ToDoubleMilliseconds(r->latency_p99), r->server_batch_size,
                  r->server_compute_us, r->requests_failed > 0 ? " (some requests failed)" : "");
      std::fflush(stdout);
    }
    gains.push_back(images_per_s[0] / images_per_s[1]);
  }
  for (std::unique_ptr<DaemonProcess>& daemon : daemons) (void)daemon->Stop();

  const double gain = Median(gains);
  const double target = absl::GetFlag(FLAGS_target_gain);
  const bool gain_met = gain >= target;
  const double p99_ms = Median(batched_p99_ms);
  const double batch_time_us = Median(batch_us);
  const double bound_ms = (absl::GetFlag(FLAGS_max_queue_delay_us) + 2 * batch_time_us) / 1000;
  const bool bound_held = p99_ms <= bound_ms;
  std::printf("gain: batched/batch-1 images/s %.2fx (median of %zu rounds), target >= %gx: %s\n",
              gain, gains.size(), target, gain_met ? "met" : "NOT met");
  std::printf("batched p99 %.3f ms (median), bound max queue delay %d us + 2 x batch time %.1f us "
              "(median) = %.3f ms: %s\n",
              p99_ms, absl::GetFlag(FLAGS_max_queue_delay_us), batch_time_us, bound_ms,
              bound_held ? "holds" : "does NOT hold");
  return gain_met && bound_held ? 0 : 2;
}
