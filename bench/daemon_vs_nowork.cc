// The daemon's serving overhead, as a ratio measured in one run: the same closed-loop load
// (pynq-infer bench's load generator) against pynq-inferd serving the shipped model on the CPU
// backend and against pynq-nowork-server (same gRPC stack and messages, no work), alternating
// round by round so both see the same machine. Also the daemon's memory under that load.
//
//   build/bench/daemon_vs_nowork [--rounds=3] [--concurrency=64] [--streams=4]
//
// Prints, per scenario and server, images/s and client p50/p99, the median daemon/no-work ratio
// with its target, and the daemon's peak resident memory (VmHWM).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/median.h"
#include "clients/load_generator.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tests/support/daemon_process.h"

ABSL_FLAG(std::string, model_dir, PYNQ_SOURCE_DIR "/models/zoo", "Models the daemon serves.");
ABSL_FLAG(std::string, model, "mnist-bnn-tfc", "Model to load.");
ABSL_FLAG(int, rounds, 3, "Alternating rounds per scenario; the median ratio is reported.");
ABSL_FLAG(uint32_t, concurrency, 64, "Requests in flight.");
ABSL_FLAG(uint32_t, streams, 4, "Streams sharing the concurrency in the streaming scenario.");
ABSL_FLAG(uint32_t, warmup_ms, 1000, "Warm-up per level.");
ABSL_FLAG(uint32_t, measure_ms, 1500, "Measurement window.");
ABSL_FLAG(uint32_t, max_windows, 5, "Most windows per level.");

namespace {

using pynq::clients::LevelResult;
using pynq::clients::LoadMode;
using pynq::clients::LoadSpec;
using pynq::testing::DaemonProcess;

// Peak and current resident memory of `pid`, kB, from /proc.
struct Memory {
  uint64_t rss_kb = 0;
  uint64_t hwm_kb = 0;
};

Memory ReadMemory(pid_t pid) {
  Memory m;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stoull(line.substr(6));
  }
  return m;
}

struct Scenario {
  const char* name;
  LoadMode mode;
  uint32_t images_per_request;
  // The target for daemon / no-work images/s; 0: informative only.
  double target_ratio;
};

}  // namespace

using pynq::bench::Median;

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto daemon = DaemonProcess::Start(
      {.binary = PYNQ_INFERD,
       .args = {"--model_dir=" + absl::GetFlag(FLAGS_model_dir), "--metrics_log_interval_s=0",
                "--log_level=warn"}});
  auto nowork = DaemonProcess::Start({.binary = PYNQ_NOWORK_SERVER,
                                      .args = {"--model=" + absl::GetFlag(FLAGS_model)},
                                      .pl_lock_file = false});
  if (!daemon.ok() || !nowork.ok()) {
    std::fprintf(stderr, "cannot start the servers: %s / %s\n", daemon.status().ToString().c_str(),
                 nowork.status().ToString().c_str());
    return 1;
  }
  const std::vector<std::string> images =
      pynq::clients::SyntheticImages(784, 64, /*seed=*/1);
  const Scenario scenarios[] = {
      {"unary", LoadMode::kUnary, 1, 0.85},
      {"stream", LoadMode::kStream, 1, 0.80},
      {"multi16", LoadMode::kUnary, 16, 0},
  };

  // Sample the daemon's memory through the whole run.
  std::atomic<bool> sampling{true};
  std::atomic<uint64_t> peak_rss_kb{0};
  std::thread sampler([&] {
    while (sampling) {
      const uint64_t rss = ReadMemory((*daemon)->pid()).rss_kb;
      if (rss > peak_rss_kb) peak_rss_kb = rss;
      absl::SleepFor(absl::Milliseconds(20));
    }
  });

  std::printf("%-8s %-7s %12s %9s %9s\n", "scenario", "server", "images/s", "p50_ms", "p99_ms");
  bool all_met = true;
  std::vector<std::string> verdicts;
  for (const Scenario& scenario : scenarios) {
    const LoadSpec spec{.model = absl::GetFlag(FLAGS_model),
                        .mode = scenario.mode,
                        .images_per_request = scenario.images_per_request,
                        .concurrency = absl::GetFlag(FLAGS_concurrency),
                        .streams = absl::GetFlag(FLAGS_streams),
                        .warmup = absl::Milliseconds(absl::GetFlag(FLAGS_warmup_ms)),
                        .window = absl::Milliseconds(absl::GetFlag(FLAGS_measure_ms)),
                        .max_windows = absl::GetFlag(FLAGS_max_windows)};
    std::vector<double> ratios;
    for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
      double images_per_s[2] = {0, 0};
      DaemonProcess* servers[2] = {nowork->get(), daemon->get()};
      const char* names[2] = {"no-work", "daemon"};
      for (int s = 0; s < 2; ++s) {
        // A fresh channel per level: neither server inherits the other's connection state.
        auto channel =
            grpc::CreateChannel(servers[s]->address(), grpc::InsecureChannelCredentials());
        absl::StatusOr<LevelResult> r = pynq::clients::RunLoadLevel(channel, spec, images);
        if (!r.ok()) {
          std::fprintf(stderr, "%s on %s: %s\n", scenario.name, names[s],
                       r.status().ToString().c_str());
          return 1;
        }
        images_per_s[s] = r->images_per_s;
        std::printf("%-8s %-7s %12.1f %9.3f %9.3f%s\n", scenario.name, names[s], r->images_per_s,
                    absl::ToDoubleMilliseconds(r->latency_p50),
                    absl::ToDoubleMilliseconds(r->latency_p99),
                    r->requests_failed > 0 ? " (some requests failed)" : "");
        std::fflush(stdout);
      }
      ratios.push_back(images_per_s[1] / images_per_s[0]);
    }
    const double ratio = Median(ratios);
    std::string verdict =
        absl::StrCat(scenario.name, ": daemon/no-work images/s ratio ", ratio, " (median of ",
                     ratios.size(), " rounds)");
    if (scenario.target_ratio > 0) {
      const bool met = ratio >= scenario.target_ratio;
      all_met = all_met && met;
      absl::StrAppend(&verdict, ", target >= ", scenario.target_ratio, ": ",
                      met ? "met" : "NOT met");
    }
    verdicts.push_back(verdict);
  }
  sampling = false;
  sampler.join();
  const Memory memory = ReadMemory((*daemon)->pid());
  for (const std::string& v : verdicts) std::printf("%s\n", v.c_str());
  const double hwm_mb = static_cast<double>(memory.hwm_kb) / 1024;
  std::printf("daemon memory under load: peak RSS sampled %.1f MB, VmHWM %.1f MB, target <= 40 MB: "
              "%s\n",
              static_cast<double>(peak_rss_kb.load()) / 1024, hwm_mb,
              hwm_mb <= 40 ? "met" : "NOT met");
  (void)(*daemon)->Stop();
  (void)(*nowork)->Stop();
  return all_met && hwm_mb <= 40 ? 0 : 2;
}
