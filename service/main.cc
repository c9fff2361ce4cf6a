// pynq-inferd: serves image classification over gRPC (and, with --http_listen, HTTP) from the
// models in a directory, batching requests per model. See --help.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "accel/backends/backend_factory.h"
#include "base/status_macros.h"
#include "service/batcher_config.h"
#include "service/fpga_presence.h"
#include "service/http/http_server.h"
#include "service/http/rest_api.h"
#include "service/memory_trimmer.h"
#include "service/metrics_reporter.h"
#include "service/model_registry.h"
#include "service/pl_lock.h"
#include "service/security/server_security.h"
#ifdef PYNQ_WITH_PROMETHEUS
#include "service/prometheus_exporter.h"
#endif
#include "service/server.h"
#include "service/serving_health.h"
#include "service/systemd_notifier.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "Address to serve gRPC on, host:port. Port 0 picks a free port (see --port_file).");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written to this file once the daemon serves.");
ABSL_FLAG(std::string, model_dir, "/usr/share/pynq-infer/models",
          "Directory whose *.pim model files are all loaded at start (and, with "
          "--allow_model_management, the only place LoadModel loads from).");
ABSL_FLAG(bool, allow_model_management, false,
          "Let clients change the served models at run time: LoadModel (a *.pim file of "
          "--model_dir, by file name; replaces a model of the same name) and UnloadModel. Off: "
          "both fail with FAILED_PRECONDITION and the models loaded at start are served until "
          "the daemon stops.");
ABSL_FLAG(int, max_batch_size, 64, "Most images per accelerator dispatch, per model.");
ABSL_FLAG(int, max_queue_delay_us, 500,
          "Longest an image waits (microseconds) for its batch to fill before it is dispatched.");
ABSL_FLAG(int, max_queue_images, 4096,
          "Most images queued per model; requests beyond it fail at once with UNAVAILABLE.");
ABSL_FLAG(std::string, preferred_batch_sizes, "",
          "Batch sizes to form when possible, e.g. 16,32,64 (each at most --max_batch_size): a "
          "batch is dispatched at once when the largest fills, and when the delay runs out the "
          "largest that fills is sent. Empty: batches as large as possible.");
ABSL_FLAG(int, max_batches_in_flight, 0,
          "Batches per model running on the accelerator at once; 0: as many as the backend "
          "allows (cpu 1, fpga 2).");
ABSL_FLAG(std::vector<std::string>, model_batching, {},
          "Per-model batching that overrides the flags above, comma-separated entries "
          "MODEL:KEY=VALUE[:KEY=VALUE...] with keys max_batch_size, max_queue_delay_us, "
          "max_queue_images, preferred_batch_sizes (sizes separated by /) and "
          "max_batches_in_flight, e.g. mnist-bnn-tfc:max_batch_size=128:preferred_batch_sizes=64/128");
ABSL_FLAG(int, max_images_per_request, 1024,
          "Most images in one ClassifyRequest; more is INVALID_ARGUMENT.");
ABSL_FLAG(uint64_t, max_picture_pixels, uint64_t{1} << 24,
          "Largest picture (ClassifyRequest.encoded_images, OIP BYTES inputs, REST picture "
          "bodies) in pixels, width x height as its "
          "header declares; larger ones are INVALID_ARGUMENT, refused before decoding.");
ABSL_FLAG(uint64_t, max_picture_decoded_bytes, uint64_t{64} << 20,
          "Most memory the decoding of one picture may take, bytes (an interlaced PNG and a "
          "progressive JPEG hold the whole image); more is INVALID_ARGUMENT.");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "Largest request message in bytes; larger ones fail with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_stream_in_flight, 64,
          "Unanswered requests per ClassifyStream before the daemon stops reading that stream.");
ABSL_FLAG(int, shutdown_grace_s, 30,
          "On SIGTERM/SIGINT the daemon refuses new requests (UNAVAILABLE) and answers every "
          "request it accepted; this many seconds is how long it waits for clients to take "
          "their answers before it cancels the calls still open.");
ABSL_FLAG(int, drain_delay_ms, 2000,
          "On SIGTERM/SIGINT, first: milliseconds the daemon keeps serving after turning "
          "grpc.health.v1 NOT_SERVING and /v2/health/ready not-ready, so that health-checking "
          "balancers (gRPC round_robin with healthCheckConfig, HAProxy) move away before it "
          "refuses anything. 0 for a single daemon without a balancer.");
ABSL_FLAG(std::string, board_name, "",
          "This daemon's name in the \"pynq-board\" metadata of every gRPC answer, by which "
          "clients behind a balancer count answers per board. Empty: <hostname>:<port>.");
ABSL_FLAG(int, shutdown_linger_ms, 250,
          "On SIGTERM/SIGINT, after the last answer has been sent: milliseconds the connections "
          "stay open (refusing new calls) so that clients read their answers before the "
          "connections close.");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off.");
ABSL_FLAG(pynq::accel::AcceleratorKind, accelerator, pynq::accel::AcceleratorKind::kCpu,
          "What runs the models: cpu; fpga (the HLS engine on --device; fail if it cannot be "
          "opened); or auto (the engine if --device opens, else the CPU, saying why in the log).");
ABSL_FLAG(pynq::accel::DeviceKind, device, pynq::accel::DeviceKind::kSim,
          "The engine's device with --accelerator=fpga|auto: sim (the virtual board: the engine's "
          "HLS C++ on the host), xrt (XRT + zocl, Zynq UltraScale+) or mmio (/dev/uio or /dev/mem "
          "+ u-dma-buf, Zynq-7000).");
ABSL_FLAG(std::string, overlay_manifest, "/usr/share/pynq-infer/overlay/nn_engine.manifest",
          "--device=xrt|mmio: the manifest of the loaded overlay (bitstream, IP, base address).");
ABSL_FLAG(bool, sim_timing, true,
          "--device=sim: delay each engine call by the engine's modeled cycle count at "
          "--sim_clock_mhz plus a fixed per-call overhead.");
ABSL_FLAG(double, sim_clock_mhz, 100, "--device=sim: the engine clock of the timing model, MHz.");
ABSL_FLAG(std::string, sim_fault, "none",
          "--device=sim: inject faults, none or KIND[:FIRST[:COUNT[:EVERY]]] (several separated "
          "by commas) with KIND hang, corrupt, bus_error or flip_weight; e.g. hang:3 hangs the 3rd "
          "batch, corrupt:1:0 corrupts every batch, hang:100:1:1000 hangs batches 100, 1100, ..., "
          "flip_weight:50 flips a bit of the resident weights before the 50th batch (one upset: "
          "only --shadow_check_rate finds it, and a reload cures it), flip_weight:50:0 flips it "
          "again after every reload (a stuck bit).");
ABSL_FLAG(double, shadow_check_rate, 0,
          "Shadow verification: this fraction of the images the FPGA engine classifies, 0 to 1, "
          "is classified again on the CPU backend by a low-priority thread and the scores "
          "compared bit for bit. A mismatch is logged and counted (GetMetrics shadow_mismatches, "
          "Prometheus pynq_inference_shadow_checks_total) and is an engine fault: the engine's "
          "resident weights are reloaded; 3 mismatches in a row disable the engine and the CPU "
          "serves. Samples the checker has no room for are skipped, never waited for. 0: off.");
ABSL_FLAG(int, engine_timeout_ms, 1000,
          "An engine call not done within this many milliseconds is a fault: the engine is reset "
          "and the batch re-run on the CPU (see --cpu_fallback).");
ABSL_FLAG(bool, cpu_fallback, true,
          "Re-run a batch the engine failed on the CPU, and serve a model the engine cannot run "
          "on the CPU; without it such batches fail with an error and such models stop the start.");
ABSL_FLAG(std::string, http_listen, "",
          "If set, host:port to serve HTTP on, e.g. 0.0.0.0:8000: the web console (GET /: draw "
          "or drop a digit, classify it, watch live charts), the Open Inference Protocol's "
          "REST API (/v2/health/live, /v2/health/ready, /v2, /v2/models/{name}[/ready|/config|"
          "/stats], POST /v2/models/{name}/infer, which also takes a PNG, JPEG or PGM file as the "
          "body), Prometheus metrics (GET /metrics) and the same metrics as JSON "
          "(GET /metrics.json). With "
          "--tls_cert it serves HTTPS only, with the same certificate, key and client CA as the "
          "gRPC port, and inference needs the same bearer token (header Authorization: Bearer "
          "TOKEN) or client certificate; the console, health, metadata, statistics and metrics "
          "stay open. "
          "Port 0 picks a free port (see --http_port_file). Empty: no HTTP.");
ABSL_FLAG(std::string, http_port_file, "",
          "If set, the HTTP listener's bound port is written to this file.");
ABSL_FLAG(int, http_threads, 16,
          "HTTP requests handled at once; each open keep-alive connection holds one of these "
          "threads, and further connections wait for one.");
ABSL_FLAG(int, http_max_body_bytes, 8 << 20,
          "Largest HTTP request body accepted (JSON and binary tensor data); larger ones are "
          "answered 413.");
ABSL_FLAG(std::string, prometheus_listen, "",
          "If set, host:port to serve Prometheus metrics on (HTTP GET /metrics), e.g. "
          "0.0.0.0:9464; port 0 picks a free port (see --prometheus_port_file).");
ABSL_FLAG(std::string, prometheus_port_file, "",
          "If set, the Prometheus endpoint's bound port is written to this file.");
ABSL_FLAG(int, metrics_log_interval_s, 60,
          "Seconds between the per-model metrics summary lines in the log; 0: none.");
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

// TLS and access control (service/security/). Every secret file must be readable only by the
// daemon's user; see deploy/README.md for systemd's LoadCredential=.
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain (the daemon's own certificate first) to serve TLS with on "
          "every listener; needs --tls_key. Empty: plaintext.");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key of --tls_cert. The daemon refuses to start if the file's group or "
          "others may read or write it (use mode 0600 or 0400).");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: every client must present a certificate that chains to one of "
          "them, or its handshake fails (mTLS). Needs --tls_cert.");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the admin's bearer token (one line, at least 16 characters, e.g. from "
          "`openssl rand -hex 32`; mode 0600 or 0400, else the daemon refuses to start). "
          "LoadModel and UnloadModel then need it or a client certificate named in "
          "--admin_client_identities: UNAUTHENTICATED without a credential, PERMISSION_DENIED "
          "with one that is not an admin's. Needs TLS.");
ABSL_FLAG(std::string, inference_token_file, "",
          "File holding a bearer token that inference then needs (the admin token works too): "
          "Classify, ClassifyStream, the Open Inference Protocol's ModelInfer and "
          "ModelStreamInfer, and on --http_listen POST /v2/models/{name}/infer (401 without "
          "it); the same rules as --admin_token_file. Health, reflection, ListModels, "
          "GetMetrics and the HTTP health, metadata and metrics endpoints need no token.");
ABSL_FLAG(std::vector<std::string>, admin_client_identities, {},
          "Client certificate names (the subject's CN or a subject alternative name: DNS name, "
          "URI, e-mail, IP) that are admins, comma-separated. Needs --tls_client_ca.");

namespace {

using pynq::service::Batcher;
using pynq::service::CheckDispatchAlive;
using pynq::service::DescribeServing;
using pynq::service::DetectFpga;
using pynq::service::FpgaPresence;
using pynq::service::MetricsReporter;
using pynq::service::ModelRegistry;
using pynq::service::ParseBatchSizes;
using pynq::service::ParseModelBatching;
using pynq::service::PlLock;
using pynq::service::Server;
using pynq::service::SystemdNotifier;
using pynq::service::http::HttpServer;
using pynq::service::http::RestApi;

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

// The accelerator flags in, validated options out. The accelerator and device kinds were parsed
// by their flags; the fault plan is checked by the backend factory.
absl::Status BuildBackendOptions(pynq::accel::BackendOptions& backend) {
  const int timeout_ms = absl::GetFlag(FLAGS_engine_timeout_ms);
  if (timeout_ms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--engine_timeout_ms must be at least 1, not ", timeout_ms));
  }
  backend.accelerator = absl::GetFlag(FLAGS_accelerator);
  backend.device = absl::GetFlag(FLAGS_device);
  backend.overlay_manifest = absl::GetFlag(FLAGS_overlay_manifest);
  backend.sim_timing = absl::GetFlag(FLAGS_sim_timing);
  backend.sim_clock_mhz = absl::GetFlag(FLAGS_sim_clock_mhz);
  backend.sim_fault = absl::GetFlag(FLAGS_sim_fault);
  backend.engine_timeout = absl::Milliseconds(timeout_ms);
  backend.cpu_fallback = absl::GetFlag(FLAGS_cpu_fallback);
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
  if (absl::GetFlag(FLAGS_shutdown_grace_s) < 0 || absl::GetFlag(FLAGS_shutdown_linger_ms) < 0 ||
      absl::GetFlag(FLAGS_drain_delay_ms) < 0) {
    return absl::InvalidArgumentError(
        "--shutdown_grace_s, --shutdown_linger_ms and --drain_delay_ms must not be negative");
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
  if (absl::GetFlag(FLAGS_max_batches_in_flight) < 0 ||
      absl::GetFlag(FLAGS_metrics_log_interval_s) < 0) {
    return absl::InvalidArgumentError(
        "--max_batches_in_flight and --metrics_log_interval_s must not be negative");
  }
  absl::StatusOr<std::vector<size_t>> preferred =
      ParseBatchSizes(absl::GetFlag(FLAGS_preferred_batch_sizes));
  if (!preferred.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--preferred_batch_sizes: ", preferred.status().message()));
  }
  registry.model_dir = absl::GetFlag(FLAGS_model_dir);
  registry.batcher = {
      .max_batch_size = static_cast<size_t>(batch),
      .max_queue_delay = absl::Microseconds(delay_us),
      .max_queue_images = static_cast<size_t>(queue),
      .preferred_batch_sizes = *std::move(preferred),
      .max_batches_in_flight = static_cast<size_t>(absl::GetFlag(FLAGS_max_batches_in_flight))};
  absl::StatusOr<std::map<std::string, Batcher::Options>> by_model =
      ParseModelBatching(absl::GetFlag(FLAGS_model_batching), registry.batcher);
  if (!by_model.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model_batching: ", by_model.status().message()));
  }
  registry.batcher_by_model = *std::move(by_model);
  server.listen_address = absl::GetFlag(FLAGS_listen);
  server.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  server.shutdown_linger = absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_linger_ms));
  server.board_name = absl::GetFlag(FLAGS_board_name);
  server.service = {.max_images_per_request = static_cast<size_t>(per_request),
                    .max_stream_in_flight = static_cast<size_t>(in_flight),
                    .allow_model_management = absl::GetFlag(FLAGS_allow_model_management),
                    .picture_limits = {
                        .max_pixels = absl::GetFlag(FLAGS_max_picture_pixels),
                        .max_decoded_bytes = absl::GetFlag(FLAGS_max_picture_decoded_bytes)}};
  return absl::OkStatus();
}

pynq::service::security::SecurityOptions SecurityOptionsFromFlags() {
  return {.tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert),
                  .key_file = absl::GetFlag(FLAGS_tls_key),
                  .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca)},
          .access = {.admin_token_file = absl::GetFlag(FLAGS_admin_token_file),
                     .inference_token_file = absl::GetFlag(FLAGS_inference_token_file),
                     .admin_identities = absl::GetFlag(FLAGS_admin_client_identities)}};
}

void LogSecurity(const pynq::service::security::ServerSecurity& security) {
  using pynq::service::security::Right;
  const char* transport = "plaintext";
  if (security.requires_client_certificate()) {
    transport = "TLS, client certificates required (mTLS)";
  } else if (security.tls_enabled()) {
    transport = "TLS";
  }
  spdlog::info("transport: {}", transport);
  const bool management_restricted = security.access->Restricts(Right::kManagement);
  if (absl::GetFlag(FLAGS_allow_model_management) && !management_restricted) {
    spdlog::warn(
        "--allow_model_management without an admin credential: anyone who can reach the port "
        "can replace the served models; give --admin_token_file or --admin_client_identities");
  }
  spdlog::info("LoadModel/UnloadModel: {}; inference (gRPC and REST): {}",
               management_restricted ? "admin credential required" : "no credential required",
               security.access->Restricts(Right::kInference) ? "bearer token required"
                                                             : "no credential required");
}

int Fail(const absl::Status& status) {
  spdlog::critical("{}", status.ToString());
  return EXIT_FAILURE;
}

// --help lists the flags of this file; by default Abseil looks for a file named after the binary.
void ParseFlags(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "service/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "serves image classification over gRPC (pynq_infer.v1.Inference, the Open Inference "
      "Protocol inference.GRPCInferenceService, health, reflection) and optionally HTTP (the "
      "Open Inference Protocol's REST API, --http_listen), batching requests per model.\n"
      "Usage: pynq-inferd --model_dir=DIR [--listen=HOST:PORT] [--flagfile=FILE] ...");
  absl::ParseCommandLine(argc, argv);
}

absl::Status SetLogLevel() {
  const std::string log_level = absl::GetFlag(FLAGS_log_level);
  // spdlog maps any unknown name to "off"; a typo must not silence the daemon.
  const spdlog::level::level_enum level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level=", log_level, " is not one of trace, debug, info, warn, error, off"));
  }
  spdlog::set_level(level);
  return absl::OkStatus();
}

// Blocks SIGTERM and SIGINT in the calling thread. Called before any thread starts, so every
// thread inherits the mask and only WaitForStopSignal() receives them.
sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

int WaitForStopSignal(const sigset_t& stop_signals) {
  int signal = 0;
  sigwait(&stop_signals, &signal);
  return signal;
}

void LogServedModels(const ModelRegistry& registry) {
  spdlog::info("accelerator: {}", registry.backend_description());
  for (const auto& served : registry.models()) {
    const Batcher::Options& batching = served->batcher->options();
    spdlog::info(
        "model {} {} from {}: {}x{}x{} input, {} classes, backend {}; batches of up to {} "
        "images (preferred: {}), max queue delay {} us, queue bound {} images, {} in flight",
        served->model->name(), served->model->version(), served->path,
        served->model->input_shape().c, served->model->input_shape().h,
        served->model->input_shape().w, served->model->num_classes(),
        served->batcher->accelerator().backend_name(), batching.max_batch_size,
        batching.preferred_batch_sizes.empty() ? "any"
                                               : absl::StrJoin(batching.preferred_batch_sizes, ","),
        absl::ToInt64Microseconds(batching.max_queue_delay), batching.max_queue_images,
        served->batcher->batches_in_flight());
  }
}

// Everything the daemon runs, started in order by Start() and stopped by Drain(). The members are
// declared in start order, so they are destroyed in reverse: the PL lock, taken first, is
// released last, after everything that drives the engine is gone.
class Daemon {
 public:
  // Takes the PL, loads the models, starts serving (gRPC, Prometheus, the metrics log) and tells
  // systemd it is ready. The first failure is returned; what started is stopped by the destructor.
  absl::Status Start() {
    ModelRegistry::Options registry_options;
    Server::Options server_options;
    PYNQ_RETURN_IF_ERROR(BuildOptions(registry_options, server_options));
    PYNQ_RETURN_IF_ERROR(BuildBackendOptions(registry_options.backend));
    registry_options.shadow_check_rate = absl::GetFlag(FLAGS_shadow_check_rate);
    PYNQ_ASSIGN_OR_RETURN(server_options.security,
                          pynq::service::security::LoadServerSecurity(SecurityOptionsFromFlags()));
    LogSecurity(server_options.security);
    if (server_options.security.tls_enabled() && !absl::GetFlag(FLAGS_prometheus_listen).empty()) {
      // Every listener serves TLS once --tls_cert is given; the Prometheus endpoint cannot.
      return absl::InvalidArgumentError(
          "--prometheus_listen serves plain HTTP, and with --tls_cert every listener must use "
          "TLS; drop --prometheus_listen (GetMetrics over the TLS port has the same figures)");
    }
    // Ownership first, before anything is loaded: a second daemon leaves before touching the PL.
    PYNQ_ASSIGN_OR_RETURN(pl_lock_, PlLock::Acquire({.path = absl::GetFlag(FLAGS_pl_lock_file)}));
    if (const FpgaPresence fpga = DetectFpga(); fpga.present()) {
      spdlog::info("{}", fpga.Describe());
    } else {
      spdlog::warn("{}; serving on the CPU backend", fpga.Describe());
    }
    PYNQ_ASSIGN_OR_RETURN(registry_, ModelRegistry::Create(registry_options));
    LogServedModels(*registry_);
    PYNQ_RETURN_IF_ERROR(StartServer(server_options));
    PYNQ_RETURN_IF_ERROR(
        StartHttp(server_options.service.max_images_per_request,
                  server_options.service.picture_limits, server_options.security));
    PYNQ_RETURN_IF_ERROR(StartPrometheus());
    if (const int interval_s = absl::GetFlag(FLAGS_metrics_log_interval_s); interval_s > 0) {
      reporter_ = MetricsReporter::Start(registry_.get(), absl::Seconds(interval_s));
    }
    return NotifyReady();
  }

  // Stops accepting, answers every accepted request and logs the last metrics. Blocks until then.
  void Drain(int signal) {
    spdlog::info("received {}; draining", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    notifier_->NotifyStopping("draining: answering accepted requests");
    // Announce the drain on every listener and keep serving while balancers move away.
    if (rest_api_ != nullptr) rest_api_->BeginShutdown();
    server_->BeginDraining();
    if (const int delay_ms = absl::GetFlag(FLAGS_drain_delay_ms); delay_ms > 0) {
      spdlog::info("health NOT_SERVING; serving {} ms more before refusing", delay_ms);
      absl::SleepFor(absl::Milliseconds(delay_ms));
    }
    // HTTP first: its requests in progress are answered while the batchers still run.
    if (http_server_ != nullptr) http_server_->Stop();
    server_->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
    // The last lines cover everything up to the drain, so the log accounts for every request.
    if (reporter_ != nullptr) reporter_->LogNow();
    spdlog::info("stopped");
  }

 private:
  absl::Status StartServer(const Server::Options& options) {
    PYNQ_ASSIGN_OR_RETURN(server_, Server::Start(registry_.get(), options));
    spdlog::info("serving on {} (port {}) as board {}", options.listen_address, server_->port(),
                 server_->board_name());
    if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
      PYNQ_RETURN_IF_ERROR(WritePortFile(path, server_->port()));
    }
    return absl::OkStatus();
  }

  // Serves with the gRPC port's TLS material and admits requests by its access policy.
  absl::Status StartHttp(size_t max_images_per_request,
                         const pynq::preprocess::DecodeLimits& picture_limits,
                         const pynq::service::security::ServerSecurity& security) {
    const std::string address = absl::GetFlag(FLAGS_http_listen);
    if (address.empty()) return absl::OkStatus();
    const int threads = absl::GetFlag(FLAGS_http_threads);
    const int max_body = absl::GetFlag(FLAGS_http_max_body_bytes);
    if (threads < 1 || max_body < 1024) {
      return absl::InvalidArgumentError(
          "--http_threads must be at least 1 and --http_max_body_bytes at least 1024");
    }
    RestApi::Options api{.limits = {.max_images_per_request = max_images_per_request,
                                    .picture_limits = picture_limits},
                         .access = security.access};
#ifdef PYNQ_WITH_PROMETHEUS
    const ModelRegistry& served = *registry_;
    api.metrics_text = [&served] { return pynq::service::MetricsText(served, absl::Now()); };
#endif
    rest_api_ = std::make_unique<RestApi>(registry_.get(), std::move(api));
    PYNQ_ASSIGN_OR_RETURN(
        http_server_,
        HttpServer::Start({.listen_address = address,
                           .threads = static_cast<size_t>(threads),
                           .max_body_bytes = static_cast<size_t>(max_body),
                           .tls = security.tls,
                           .admit =
                               [api = rest_api_.get()](const pynq::service::http::HttpRequest& r) {
                                 return api->Admit(r);
                               }},
                          [api = rest_api_.get()](const pynq::service::http::HttpRequest& r) {
                            return api->Handle(r);
                          }));
    spdlog::info("{} (Open Inference Protocol REST, /metrics) on {} (port {})",
                 security.tls_enabled() ? "HTTPS" : "HTTP", address, http_server_->port());
    if (const std::string path = absl::GetFlag(FLAGS_http_port_file); !path.empty()) {
      PYNQ_RETURN_IF_ERROR(WritePortFile(path, http_server_->port()));
    }
    return absl::OkStatus();
  }

  absl::Status StartPrometheus() {
    const std::string address = absl::GetFlag(FLAGS_prometheus_listen);
    if (address.empty()) return absl::OkStatus();
#ifdef PYNQ_WITH_PROMETHEUS
    PYNQ_ASSIGN_OR_RETURN(exporter_, pynq::service::PrometheusExporter::Start(
                                         registry_.get(), {.listen_address = address}));
    spdlog::info("Prometheus metrics on {} (port {}), path /metrics", address, exporter_->port());
    if (const std::string path = absl::GetFlag(FLAGS_prometheus_port_file); !path.empty()) {
      PYNQ_RETURN_IF_ERROR(WritePortFile(path, exporter_->port()));
    }
    return absl::OkStatus();
#else
    return absl::FailedPreconditionError(
        "--prometheus_listen: this pynq-inferd was built without Prometheus "
        "(-DPYNQ_WITH_PROMETHEUS=OFF)");
#endif
  }

  // READY=1 only now that the models are loaded and the server answers.
  absl::Status NotifyReady() {
    const absl::Duration stall_limit = absl::Milliseconds(absl::GetFlag(FLAGS_dispatch_stall_ms));
    const ModelRegistry& served = *registry_;
    PYNQ_ASSIGN_OR_RETURN(
        notifier_,
        SystemdNotifier::Create(
            {.check_alive = [&served, stall_limit] {
               return CheckDispatchAlive(served, stall_limit, absl::Now());
             },
             .status = [&served] { return DescribeServing(served, absl::Now()); },
             .status_interval = absl::Milliseconds(absl::GetFlag(FLAGS_status_interval_ms))}));
    PYNQ_RETURN_IF_ERROR(notifier_->NotifyReady());
    if (notifier_->watchdog_timeout() > absl::ZeroDuration()) {
      spdlog::info("systemd watchdog every {}; pings stop when a dispatch stalls for {}",
                   absl::FormatDuration(notifier_->watchdog_timeout()),
                   absl::FormatDuration(stall_limit));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<PlLock> pl_lock_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<RestApi> rest_api_;
  std::unique_ptr<HttpServer> http_server_;
#ifdef PYNQ_WITH_PROMETHEUS
  std::unique_ptr<pynq::service::PrometheusExporter> exporter_;
#endif
  std::unique_ptr<MetricsReporter> reporter_;
  std::unique_ptr<SystemdNotifier> notifier_;
};

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates under contention an arena of its own, up to 8 per
  // core, and freed memory stays in the arena it came from: under a burst of requests on gRPC's
  // many threads the daemon's resident memory grows with the arena count, not with the load.
  // Four arenas bound it (overload_e2e_test: growth under overload 5-19 MB instead of 15-33 MB);
  // two bound it further but cost about a quarter of the unary throughput in daemon_vs_nowork
  // (gRPC's threads then contend for them), four cost nothing measurable there.
  mallopt(M_ARENA_MAX, 4);
  ParseFlags(argc, argv);
  if (absl::Status s = SetLogLevel(); !s.ok()) return Fail(s);
  const sigset_t stop_signals = BlockStopSignals();
  // And the memory a burst freed goes back to the system within a second of it
  // (storm_e2e_test: RSS after a storm of 10,000 bad requests is back near its level before).
  const std::unique_ptr<pynq::service::MemoryTrimmer> trimmer =
      pynq::service::MemoryTrimmer::Start({});
  Daemon daemon;
  if (absl::Status s = daemon.Start(); !s.ok()) return Fail(s);
  daemon.Drain(WaitForStopSignal(stop_signals));
  return EXIT_SUCCESS;
}
