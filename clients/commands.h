// The subcommands of the `pynq-infer` command-line client, one function each. main() only turns
// flags into these Options and picks the function; everything a subcommand does is here, so tests
// run the subcommands against an in-process server and check what they print.
//
//   std::shared_ptr<grpc::Channel> channel =
//       grpc::CreateChannel("127.0.0.1:50051", grpc::InsecureChannelCredentials());
//   absl::Status s = RunClassify({.files = {"digit.png"}, .top_k = 3}, channel, std::cout);
//   if (!s.ok()) std::cerr << s << "\n";  // e.g. NOT_FOUND: Classify: model "x" is not loaded
//
// Common contract: each function blocks until its RPCs have finished, writes its human-readable
// report to `out`, and returns OK only if everything it was asked to do succeeded. RPC failures
// keep the daemon's gRPC code, with the RPC named in the message (see FromGrpcStatus()); invalid
// options are INVALID_ARGUMENT; unreadable input files keep the codes of ReadImageFile(). The
// functions share no state: calls are thread-safe if they use different `out` streams.
#ifndef PYNQ_CLIENTS_COMMANDS_H_
#define PYNQ_CLIENTS_COMMANDS_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/load_generator.h"

namespace pynq::clients {

inline constexpr char kDefaultModel[] = "mnist-bnn-tfc";

struct ClassifyOptions {
  std::string model = kDefaultModel;
  // Image files, gzipped or not, recognised by their content: an IDX file contributes all its
  // images and a binary 8-bit PGM of exactly the model's input size its pixels, sent as raw
  // images; every other file (PNG, JPEG, other PGMs) is a picture, sent as its bytes for the
  // daemon to prepare (ClassifyRequest.encoded_images).
  std::vector<std::string> files;
  // Best classes to print per image, best first; at most the model's number of classes.
  uint32_t top_k = 3;
  // Images per Classify call; at least 1.
  uint32_t images_per_request = 64;
  // Classify at most this many images, in file order; 0 classifies all.
  uint32_t max_images = 0;
  // Deadline of each Classify call.
  absl::Duration timeout = absl::Seconds(10);
  // Print, under each image's line, the input the model ran on as text (one character per pixel,
  // " .:-=+*#%@" from dark to light).
  bool show_input = false;
};

// Reads every file first (a bad file fails before any RPC; to tell whether a PGM is a raw image
// it asks ListModels for the model's input size), then sends the images in order with unary
// Classify calls, raw images and pictures in separate calls, and prints one line per image:
//   <file>[#<index in the file, if it holds several>] class=<i> label="<label>" top=[<i> "<label>"
//   <score>, ...]
//       queue_us=<n> accelerator_us=<n> batch_size=<n>
// (one line; `top=[...]` is left out when top_k is 0). Stops at the first failed call.
absl::Status RunClassify(const ClassifyOptions& options,
                         const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct EvalOptions {
  std::string model = kDefaultModel;
  // IDX uint8 images [N, H, W] and labels [N], gzipped or not.
  std::string images_path;
  std::string labels_path;
  // Most ClassifyStream requests in flight; at least 1.
  uint32_t window = 64;
  // Images per stream request; at least 1.
  uint32_t images_per_request = 1;
  // Evaluate only the first this many images; 0 evaluates all.
  uint32_t max_images = 0;
  // How long any one request may go unanswered before the run is abandoned.
  absl::Duration response_timeout = absl::Seconds(10);
  // If not empty, where to write every image's scores as IDX int32 [N, classes], row = image
  // index; written only when every image was classified.
  std::string scores_out;
  // Fail (FAILED_PRECONDITION) when the accuracy, in percent, is below this.
  double min_accuracy_pct = 0;
};

// Streams every image through one ClassifyStream call with up to `window` requests in flight and
// prints a report of `key: value` lines (the format is documented in clients/README.md and is
// parsed by the end-to-end tests; keep them in step). Responses that carry `error` are printed and
// counted, and make the result that error's code. Returns, in order of precedence: the stream's
// own failure (see RunWindowedStream()), the first failed request's code, an error writing
// scores_out, FAILED_PRECONDITION for accuracy below min_accuracy_pct (the scores are still
// written: they show what went wrong); otherwise OK.
absl::Status RunEval(const EvalOptions& options,
                     const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct BenchOptions {
  // What every level shares: model, mode (kUnary, where images_per_request > 1 is the
  // multi-image mode, or kStream), streams, warm-up, windows, stability, request timeout. Its
  // arrival, concurrency and rate are set per level from the lists below.
  LoadSpec load{.model = kDefaultModel};
  // Closed-loop levels, requests in flight; used when `rates` is empty.
  std::vector<uint32_t> concurrency = {1, 2, 4, 8, 16, 32, 64};
  // Open-loop levels, requests per second, with `arrival` (kConstant or kPoisson).
  std::vector<double> rates;
  Arrival arrival = Arrival::kPoisson;
  // IDX uint8 images to send; empty: synthetic images of the model's input size.
  std::string images_path;
  // If not empty: the table as CSV, and the throughput-vs-latency plot as SVG.
  std::string csv_path;
  std::string plot_path;
};

// Runs one load level (RunLoadLevel()) per concurrency or rate, in order, and prints a table as
// it goes: per level the offered load, requests/s, images/s, client latency p50/p90/p95/p99 (ms),
// the server's mean queue wait per image and accelerator time per batch (us) and mean batch size
// from GetMetrics, failed requests, and whether the measurement was stable. Then writes the CSV
// and the SVG plot (images/s against p50 and p99 latency) if asked. Returns the first level's
// error (see RunLoadLevel()); UNAVAILABLE when a level had no successful request; file errors.
absl::Status RunBench(const BenchOptions& options,
                      const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct MetricsOptions {
  // Deadline of the GetMetrics call.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls GetMetrics and prints the daemon's uptime and, per model, its counters, throughput and a
// table of latency percentiles (end-to-end, queue, accelerator) in microseconds.
absl::Status RunMetrics(const MetricsOptions& options,
                        const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

// One board of a fleet: its address as the user gave it, and a channel to it alone.
struct Board {
  std::string address;
  std::shared_ptr<grpc::ChannelInterface> channel;
};

// Calls GetMetrics on every board (one after the other, each with options.timeout) and prints
// a fleet table: one row per board (models served, requests ok and failed, images, images/s
// over the last 10 s, the worst end-to-end p99 of its models in ms, queued images, engine
// faults), then a total row (sums; the worst p99). A board that does not answer gets a row
// saying why, and the command then fails with UNAVAILABLE naming how many did not answer.
absl::Status RunFleetMetrics(const MetricsOptions& options, const std::vector<Board>& boards,
                             std::ostream& out);

struct ModelsOptions {
  // Deadline of the ListModels call.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls ListModels and prints each model: version, backend, description, input shape, batch limit,
// labels and layers.
absl::Status RunModels(const ModelsOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct LoadOptions {
  // A *.pim file name in the daemon's model directory (not a path; see LoadModel in the proto).
  std::string file;
  // Deadline of the LoadModel call.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls LoadModel and prints one line:
//   loaded <name> version <v> from <file> (backend <b>)[, replacing version <old>]
// The daemon must run with --allow_model_management (else FAILED_PRECONDITION). An empty `file`
// is INVALID_ARGUMENT before any RPC.
absl::Status RunLoad(const LoadOptions& options,
                     const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct UnloadOptions {
  // Name of a loaded model, as listed by `models`.
  std::string model;
  // Deadline of the UnloadModel call.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls UnloadModel and prints `unloaded <name> version <v>`. Requests the model already accepted
// are still answered by the daemon. An empty `model` is INVALID_ARGUMENT before any RPC.
absl::Status RunUnload(const UnloadOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

struct HealthOptions {
  // Service to check: "" for the daemon as a whole, or for example "pynq_infer.v1.Inference".
  std::string service;
  // Deadline of the Check call.
  absl::Duration timeout = absl::Seconds(10);
};

// Calls grpc.health.v1.Health/Check and prints the serving status (SERVING, NOT_SERVING, ...) on
// one line. Returns OK only for SERVING; otherwise UNAVAILABLE naming the status.
absl::Status RunHealth(const HealthOptions& options,
                       const std::shared_ptr<grpc::ChannelInterface>& channel, std::ostream& out);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_COMMANDS_H_
