// pynq-inferd: serves image classification over gRPC from the models in a directory, batching
// requests per model. See --help.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "service/fpga_presence.h"
#include "service/model_registry.h"
#include "service/pl_lock.h"
#include "service/server.h"
#include "service/serving_health.h"
#include "service/systemd_notifier.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "Address to serve gRPC on, host:port. Port 0 picks a free port (see --port_file).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file once the daemon serves.");
ABSL_FLAG(std::string, model_dir, "/usr/share/pynq-infer/models",
          "Directory whose *.pim model files are all loaded at start.");
ABSL_FLAG(int, max_batch_size, 64, "Most images per accelerator dispatch, per model.");
ABSL_FLAG(int, max_queue_delay_us, 500,
          "Longest an image waits (microseconds) for its batch to fill before it is dispatched.");
ABSL_FLAG(int, max_queue_images, 4096,
          "Most images queued per model; requests beyond it fail at once with UNAVAILABLE.");
ABSL_FLAG(int, max_images_per_request, 1024,
          "Most images in one ClassifyRequest; more is INVALID_ARGUMENT.");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "Largest request message in bytes; larger ones fail with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_stream_in_flight, 64,
          "Unanswered requests per ClassifyStream before the daemon stops reading that stream.");
ABSL_FLAG(int, shutdown_grace_s, 30,
          "On SIGTERM/SIGINT: seconds calls in progress get to be answered before they are "
          "cancelled; every accepted request is still run to completion.");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off.");
ABSL_FLAG(std::string, pl_lock_file, "/run/pynq-infer/pl.lock",
          "Lock file that makes this daemon the only owner of the FPGA's programmable logic; a "
          "second daemon using the same file exits at once, naming the owner's pid.");
ABSL_FLAG(int, dispatch_stall_ms, 10000,
          "Under a systemd watchdog (WatchdogSec=): once one accelerator run lasts this long, "
          "or queued images wait this long past --max_queue_delay_us for the dispatch thread, "
          "the daemon stops its WATCHDOG=1 pings so that systemd restarts it.");
ABSL_FLAG(int, status_interval_ms, 5000,
          "Under systemd (Type=notify): how often the STATUS= line (backend, images/s) is "
          "refreshed.");

namespace {

using pynq::service::CheckDispatchAlive;
using pynq::service::DescribeServing;
using pynq::service::DetectFpga;
using pynq::service::FpgaPresence;
using pynq::service::ModelRegistry;
using pynq::service::PlLock;
using pynq::service::Server;
using pynq::service::SystemdNotifier;

// Publishes the port by writing a temporary file and renaming it, so a reader never sees a
// partial number.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << port << "\n";
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", temporary));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot rename to ", path));
  return absl::OkStatus();
}

// Flags in, validated options out.
absl::Status BuildOptions(ModelRegistry::Options& registry, Server::Options& server) {
  const int batch = absl::GetFlag(FLAGS_max_batch_size);
  const int queue = absl::GetFlag(FLAGS_max_queue_images);
  const int per_request = absl::GetFlag(FLAGS_max_images_per_request);
  const int delay_us = absl::GetFlag(FLAGS_max_queue_delay_us);
  const int in_flight = absl::GetFlag(FLAGS_max_stream_in_flight);
  if (batch < 1 || queue < 1 || per_request < 1 || delay_us < 0 || in_flight < 1 ||
      absl::GetFlag(FLAGS_max_message_bytes) < 1024) {
    return absl::InvalidArgumentError(
        "--max_batch_size, --max_queue_images, --max_images_per_request and "
        "--max_stream_in_flight must be at least 1, --max_queue_delay_us at least 0, "
        "--max_message_bytes at least 1024");
  }
  if (absl::GetFlag(FLAGS_dispatch_stall_ms) < 1 || absl::GetFlag(FLAGS_status_interval_ms) < 1) {
    return absl::InvalidArgumentError(
        "--dispatch_stall_ms and --status_interval_ms must be at least 1");
  }
  if (queue < per_request) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_queue_images (", queue, ") must be at least --max_images_per_request (",
        per_request, "), or a largest request could never be queued"));
  }
  registry.model_dir = absl::GetFlag(FLAGS_model_dir);
  registry.batcher = {.max_batch_size = static_cast<size_t>(batch),
                      .max_queue_delay = absl::Microseconds(delay_us),
                      .max_queue_images = static_cast<size_t>(queue)};
  registry.cpu.max_batch_size = static_cast<size_t>(batch);
  server.listen_address = absl::GetFlag(FLAGS_listen);
  server.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  server.service = {.max_images_per_request = static_cast<size_t>(per_request),
                    .max_stream_in_flight = static_cast<size_t>(in_flight)};
  return absl::OkStatus();
}

int Fail(const absl::Status& status) {
  spdlog::critical("{}", status.ToString());
  return EXIT_FAILURE;
}

}  // namespace

int main(int argc, char** argv) {
  // --help lists the flags of this file; by default Abseil looks for a file named after the binary.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "service/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "serves image classification over gRPC (pynq_infer.v1.Inference, health, "
      "reflection), batching requests per model.\n"
      "Usage: pynq-inferd --model_dir=DIR [--listen=HOST:PORT] [--flagfile=FILE] ...");
  absl::ParseCommandLine(argc, argv);
  const std::string log_level = absl::GetFlag(FLAGS_log_level);
  // spdlog maps any unknown name to "off"; a typo must not silence the daemon.
  const spdlog::level::level_enum level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--log_level=", log_level, " is not one of trace, debug, info, warn, error, off")));
  }
  spdlog::set_level(level);

  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ModelRegistry::Options registry_options;
  Server::Options server_options;
  if (absl::Status s = BuildOptions(registry_options, server_options); !s.ok()) return Fail(s);

  // Ownership first, before anything is loaded: a second daemon leaves before touching the PL.
  // Declared before everything it protects, so it is released last.
  absl::StatusOr<std::unique_ptr<PlLock>> pl_lock =
      PlLock::Acquire({.path = absl::GetFlag(FLAGS_pl_lock_file)});
  if (!pl_lock.ok()) return Fail(pl_lock.status());
  if (const FpgaPresence fpga = DetectFpga(); fpga.present()) {
    spdlog::info("{}", fpga.Describe());
  } else {
    spdlog::warn("{}; serving on the CPU backend", fpga.Describe());
  }

  absl::StatusOr<std::unique_ptr<ModelRegistry>> registry =
      ModelRegistry::Create(registry_options);
  if (!registry.ok()) return Fail(registry.status());
  for (const auto* served : (*registry)->models()) {
    spdlog::info("model {} {} from {}: {}x{}x{} input, {} classes, backend {}",
                 served->model->name(), served->model->version(), served->path,
                 served->model->input_shape().c, served->model->input_shape().h,
                 served->model->input_shape().w, served->model->num_classes(),
                 served->batcher->accelerator().backend_name());
  }

  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(registry->get(), server_options);
  if (!server.ok()) return Fail(server.status());
  spdlog::info("serving on {} (port {})", server_options.listen_address, (*server)->port());
  if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
    if (absl::Status s = WritePortFile(path, (*server)->port()); !s.ok()) return Fail(s);
  }

  // READY=1 only now that the models are loaded and the server answers.
  const absl::Duration stall_limit = absl::Milliseconds(absl::GetFlag(FLAGS_dispatch_stall_ms));
  const ModelRegistry& served = **registry;
  absl::StatusOr<std::unique_ptr<SystemdNotifier>> notifier = SystemdNotifier::Create(
      {.check_alive = [&served, stall_limit] {
         return CheckDispatchAlive(served, stall_limit, absl::Now());
       },
       .status = [&served] { return DescribeServing(served, absl::Now()); },
       .status_interval = absl::Milliseconds(absl::GetFlag(FLAGS_status_interval_ms))});
  if (!notifier.ok()) return Fail(notifier.status());
  if (absl::Status s = (*notifier)->NotifyReady(); !s.ok()) return Fail(s);
  if ((*notifier)->watchdog_timeout() > absl::ZeroDuration()) {
    spdlog::info("systemd watchdog every {}; pings stop when a dispatch stalls for {}",
                 absl::FormatDuration((*notifier)->watchdog_timeout()),
                 absl::FormatDuration(stall_limit));
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("received {}; draining", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  (*notifier)->NotifyStopping("draining: answering accepted requests");
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
  spdlog::info("stopped");
  return EXIT_SUCCESS;
}
