// pynq-infer: the command-line client of pynq-inferd. main() parses flags, picks the subcommand
// and maps its result to an exit status; the subcommands themselves are in clients/commands.h.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/channel_security.h"
#include "clients/commands.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "Address of pynq-inferd, host:port; or several boards: a comma-separated list "
          "(host:port,host:port,...) or dns:///name:port for a name with several records. "
          "Calls then go round-robin to the boards whose health is SERVING, and a call refused "
          "with UNAVAILABLE is retried on another board.");
ABSL_FLAG(std::string, model, pynq::clients::kDefaultModel,
          "[classify, eval, bench] Model to run, as listed by `pynq-infer models`.");
ABSL_FLAG(uint32_t, timeout_ms, 10000,
          "Deadline of each RPC in milliseconds; for eval, the longest any one request may wait "
          "for its response.");
ABSL_FLAG(uint32_t, top_k, 3, "[classify] Best classes to print per image (0: none).");
ABSL_FLAG(bool, show_input, false,
          "[classify] Print the input the model ran on under each image, as text.");
ABSL_FLAG(uint32_t, batch, 64, "[classify] Images per Classify request.");
ABSL_FLAG(uint32_t, limit, 0, "[classify, eval] Use only the first this many images (0: all).");
ABSL_FLAG(std::string, images, "",
          "[eval, bench] IDX file of uint8 images [N, H, W], gzipped or not "
          "(e.g. t10k-images-idx3-ubyte.gz).");
ABSL_FLAG(std::string, labels, "", "[eval] IDX file of uint8 labels [N], gzipped or not.");
ABSL_FLAG(uint32_t, window, 64, "[eval] Most stream requests in flight at once.");
ABSL_FLAG(uint32_t, images_per_request, 1, "[eval, bench] Images per request.");
ABSL_FLAG(std::string, scores_out, "",
          "[eval] Write every image's scores to this file as IDX int32 [N, classes].");
ABSL_FLAG(double, min_accuracy, 0,
          "[eval] Exit with status 1 if the accuracy, in percent, is below this.");
ABSL_FLAG(std::string, mode, "unary",
          "[bench] unary (Classify calls; --images_per_request > 1 for multi-image requests) or "
          "stream (ClassifyStream).");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "2", "4", "8", "16", "32", "64"}),
          "[bench] Closed-loop levels: requests in flight, comma-separated.");
ABSL_FLAG(std::vector<std::string>, rate, {},
          "[bench] Open-loop levels instead: requests per second, comma-separated (unary only).");
ABSL_FLAG(std::string, arrival, "poisson", "[bench] Open-loop arrivals: poisson or constant.");
ABSL_FLAG(std::string, protocol, "native",
          "[bench] native (pynq_infer.v1 over gRPC), oip (the Open Inference Protocol's "
          "ModelInfer over gRPC, on --server) or rest (its REST API, POST "
          "/v2/models/{model}/infer with JSON, on --http_server; closed loop only).");
ABSL_FLAG(std::string, http_server, "127.0.0.1:8000",
          "[bench] The daemon's HTTP address (its --http_listen), host:port, for "
          "--protocol=rest.");
ABSL_FLAG(uint32_t, streams, 1, "[bench] Stream mode: streams sharing each level's concurrency.");
ABSL_FLAG(uint32_t, warmup_ms, 1000, "[bench] Load offered before measuring, per level.");
ABSL_FLAG(uint32_t, measure_ms, 2000, "[bench] Length of one measurement window.");
ABSL_FLAG(uint32_t, max_windows, 6,
          "[bench] Most windows per level; measuring stops earlier once 3 agree.");
ABSL_FLAG(double, stability_pct, 10,
          "[bench] The 3 last windows agree when throughput and p50 are within this percent.");
ABSL_FLAG(std::string, metrics_from, "",
          "[bench] Boards (host:port,...) whose GetMetrics, summed, give the server-side figures; "
          "for a load through a proxy (nginx, HAProxy). Empty: the boards of --server.");
ABSL_FLAG(std::string, csv, "", "[bench] Write the table as CSV to this file.");
ABSL_FLAG(std::string, plot, "", "[bench] Write the throughput-vs-latency plot (SVG) to this file.");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS, verifying the daemon's certificate against the system's CAs (or "
          "--tls_ca). Implied by --tls_ca, --tls_cert and --tls_key.");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates the daemon's certificate must chain to.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for a daemon that requires one (--tls_client_ca); with "
          "--tls_key.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "Name to check the daemon's certificate for, instead of the host in --server.");
ABSL_FLAG(std::string, token_file, "",
          "File holding a bearer token sent with every call (the daemon's admin or inference "
          "token); needs TLS.");
ABSL_FLAG(std::string, health_service, "",
          "[health] Service to check (e.g. pynq_infer.v1.Inference); empty: the whole daemon.");

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] = R"(client of the pynq-inferd image-classification daemon.

Usage: pynq-infer <command> [flags] [files...]

Commands:
  classify [--top_k=3] [--batch=64] [--show_input] FILE...
      Classify images: pictures (PNG, JPEG, PGM of any size: the daemon prepares them as the
      model declares, e.g. a dark digit on white paper), or raw images (IDX files, and PGMs and
      PNGs of exactly the model's input size), gzipped or not. Prints one line per image: source,
      class, label, top-k scores, server timings; --show_input adds the model's input as text.
  eval --images=IMAGES.idx3-ubyte --labels=LABELS.idx1-ubyte [--window=64]
       [--images_per_request=1] [--scores_out=FILE] [--min_accuracy=PERCENT]
      Stream a labelled data set through ClassifyStream; print accuracy, images/s and
      latency percentiles as `key: value` lines.
  bench [--protocol=native|oip|rest [--http_server=HOST:PORT]] [--mode=unary|stream]
        [--images_per_request=1] [--concurrency=1,2,4,...,64]
        [--rate=R1,R2,... [--arrival=poisson|constant]] [--streams=1] [--warmup_ms=1000]
        [--measure_ms=2000] [--max_windows=6] [--images=IDX] [--csv=FILE] [--plot=FILE.svg]
      Load generator: per level, warm up, measure until 3 windows agree, and print req/s,
      images/s, client latency p50/p90/p95/p99 and the server's queue/compute time per level.
      --protocol: the native API, the Open Inference Protocol over gRPC, or its REST API.
      With several boards in --server, also prints how many calls each board answered.
  metrics
      The daemon's counters, throughput and latency percentiles, per model. With several
      boards in --server: a fleet table, one row per board and a total row.
  models
      The models the daemon serves.
  load FILE
      Load FILE, a *.pim file name in the daemon's --model_dir, replacing a loaded model of
      the same name (the daemon needs --allow_model_management).
  unload MODEL
      Stop serving MODEL; requests it already accepted are still answered.
  health [--health_service=NAME]
      grpc.health.v1 check; prints SERVING, NOT_SERVING, ...

All commands take --server=host:port (default 127.0.0.1:50051; or a,b,c / dns:///name:port
for a fleet of boards) and --timeout_ms;
classify, eval and bench take --model (default mnist-bnn-tfc).
Security (all commands): --tls or --tls_ca=CA.pem for TLS, --tls_cert/--tls_key for a client
certificate (mTLS), --token_file=FILE for a daemon that requires a bearer token.
Exit status: 0 success; 1 an RPC, a request, a file or a check failed; 2 bad usage.
--help lists every flag of pynq-infer; --helpfull adds Abseil's own (--flagfile, ...).)";

using Channel = std::shared_ptr<grpc::ChannelInterface>;

pynq::clients::ChannelSecurity SecurityFromFlags() {
  return {.tls = absl::GetFlag(FLAGS_tls),
          .tls_ca_file = absl::GetFlag(FLAGS_tls_ca),
          .tls_cert_file = absl::GetFlag(FLAGS_tls_cert),
          .tls_key_file = absl::GetFlag(FLAGS_tls_key),
          .tls_server_name = absl::GetFlag(FLAGS_tls_server_name),
          .token_file = absl::GetFlag(FLAGS_token_file)};
}

absl::Duration Timeout() { return absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms)); }

absl::Status Classify(const std::vector<std::string>& files, const Channel& channel) {
  return pynq::clients::RunClassify({.model = absl::GetFlag(FLAGS_model),
                                     .files = files,
                                     .top_k = absl::GetFlag(FLAGS_top_k),
                                     .images_per_request = absl::GetFlag(FLAGS_batch),
                                     .max_images = absl::GetFlag(FLAGS_limit),
                                     .timeout = Timeout(),
                                     .show_input = absl::GetFlag(FLAGS_show_input)},
                                    channel, std::cout);
}

absl::Status Eval(const std::vector<std::string>&, const Channel& channel) {
  return pynq::clients::RunEval({.model = absl::GetFlag(FLAGS_model),
                                 .images_path = absl::GetFlag(FLAGS_images),
                                 .labels_path = absl::GetFlag(FLAGS_labels),
                                 .window = absl::GetFlag(FLAGS_window),
                                 .images_per_request = absl::GetFlag(FLAGS_images_per_request),
                                 .max_images = absl::GetFlag(FLAGS_limit),
                                 .response_timeout = Timeout(),
                                 .scores_out = absl::GetFlag(FLAGS_scores_out),
                                 .min_accuracy_pct = absl::GetFlag(FLAGS_min_accuracy)},
                                channel, std::cout);
}

absl::StatusOr<std::vector<uint32_t>> ParseCounts(const std::vector<std::string>& items) {
  std::vector<uint32_t> counts;
  for (const std::string& item : items) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(item, &n) || n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--concurrency: \"", item, "\" is not a whole number >= 1"));
    }
    counts.push_back(n);
  }
  return counts;
}

absl::StatusOr<std::vector<double>> ParseRates(const std::vector<std::string>& items) {
  std::vector<double> rates;
  for (const std::string& item : items) {
    double r = 0;
    if (!absl::SimpleAtod(item, &r) || !(r > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--rate: \"", item, "\" is not a positive number of requests per second"));
    }
    rates.push_back(r);
  }
  return rates;
}

// "answered by board" lines: the calls of the whole run (warm-up and every level) per board.
void PrintBoardCounts(const pynq::clients::BoardCounts& counts) {
  std::cout << "\ncalls by board (the whole run, warm-up included; by its pynq-board metadata):\n";
  for (const auto& [board, tally] : counts.Snapshot()) {
    std::cout << absl::StrFormat("  %-28s %10d ok %8d failed\n", board, tally.ok, tally.failed);
  }
}

absl::Status Bench(const std::vector<std::string>&, const Channel&) {
  using pynq::clients::Arrival;
  using pynq::clients::LoadMode;
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string arrival = absl::GetFlag(FLAGS_arrival);
  if (mode != "unary" && mode != "stream") {
    return absl::InvalidArgumentError(
        absl::StrCat("--mode=", mode, " is not one of unary, stream"));
  }
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol != "native" && protocol != "oip" && protocol != "rest") {
    return absl::InvalidArgumentError(
        absl::StrCat("--protocol=", protocol, " is not one of native, oip, rest"));
  }
  if (arrival != "poisson" && arrival != "constant") {
    return absl::InvalidArgumentError(
        absl::StrCat("--arrival=", arrival, " is not one of poisson, constant"));
  }
  absl::StatusOr<std::vector<uint32_t>> concurrency = ParseCounts(absl::GetFlag(FLAGS_concurrency));
  if (!concurrency.ok()) return concurrency.status();
  absl::StatusOr<std::vector<double>> rates = ParseRates(absl::GetFlag(FLAGS_rate));
  if (!rates.ok()) return rates.status();
  pynq::clients::LoadSpec load{
      .model = absl::GetFlag(FLAGS_model),
      .protocol = protocol == "oip"    ? pynq::clients::Protocol::kOip
                  : protocol == "rest" ? pynq::clients::Protocol::kRest
                                       : pynq::clients::Protocol::kNative,
      .http_address = absl::GetFlag(FLAGS_http_server),
      .mode = mode == "stream" ? LoadMode::kStream : LoadMode::kUnary,
      .images_per_request = absl::GetFlag(FLAGS_images_per_request),
      .streams = absl::GetFlag(FLAGS_streams),
      .warmup = absl::Milliseconds(absl::GetFlag(FLAGS_warmup_ms)),
      .window = absl::Milliseconds(absl::GetFlag(FLAGS_measure_ms)),
      .max_windows = absl::GetFlag(FLAGS_max_windows),
      .stability_pct = absl::GetFlag(FLAGS_stability_pct),
      .request_timeout = Timeout()};
  const std::string metrics_from = absl::GetFlag(FLAGS_metrics_from);
  absl::StatusOr<pynq::clients::ChannelTarget> target =
      pynq::clients::ResolveChannelTarget(absl::GetFlag(FLAGS_server));
  if (!target.ok()) return target.status();
  if (!metrics_from.empty() || target->fleet) {
    absl::StatusOr<std::vector<std::string>> boards = pynq::clients::ListBoards(
        metrics_from.empty() ? absl::GetFlag(FLAGS_server) : metrics_from);
    if (!boards.ok()) return boards.status();
    for (const std::string& board : *boards) {
      absl::StatusOr<std::shared_ptr<grpc::Channel>> one =
          pynq::clients::CreateSecureChannel(board, SecurityFromFlags());
      if (!one.ok()) return one.status();
      load.metrics_channels.push_back(*std::move(one));
    }
  }
  // A channel of its own that counts the answers of each board.
  auto counts = std::make_shared<pynq::clients::BoardCounts>();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      pynq::clients::CreateSecureChannel(absl::GetFlag(FLAGS_server), SecurityFromFlags(), counts);
  if (!channel.ok()) return channel.status();
  const absl::Status status = pynq::clients::RunBench(
      {.load = load,
       .concurrency = *std::move(concurrency),
       .rates = *std::move(rates),
       .arrival = arrival == "constant" ? Arrival::kConstant : Arrival::kPoisson,
       .images_path = absl::GetFlag(FLAGS_images),
       .csv_path = absl::GetFlag(FLAGS_csv),
       .plot_path = absl::GetFlag(FLAGS_plot)},
      *channel, std::cout);
  if (load.protocol != pynq::clients::Protocol::kRest) PrintBoardCounts(*counts);
  return status;
}

absl::Status Metrics(const std::vector<std::string>&, const Channel& channel) {
  const std::string server = absl::GetFlag(FLAGS_server);
  absl::StatusOr<pynq::clients::ChannelTarget> target =
      pynq::clients::ResolveChannelTarget(server);
  if (!target.ok()) return target.status();
  if (!target->fleet) return pynq::clients::RunMetrics({.timeout = Timeout()}, channel, std::cout);
  absl::StatusOr<std::vector<std::string>> addresses = pynq::clients::ListBoards(server);
  if (!addresses.ok()) return addresses.status();
  std::vector<pynq::clients::Board> boards;
  for (const std::string& address : *addresses) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> one =
        pynq::clients::CreateSecureChannel(address, SecurityFromFlags());
    if (!one.ok()) return one.status();
    boards.push_back({address, *std::move(one)});
  }
  return pynq::clients::RunFleetMetrics({.timeout = Timeout()}, boards, std::cout);
}

absl::Status Models(const std::vector<std::string>&, const Channel& channel) {
  return pynq::clients::RunModels({.timeout = Timeout()}, channel, std::cout);
}

// main() checks that `load` and `unload` get exactly one operand.
absl::Status Load(const std::vector<std::string>& operands, const Channel& channel) {
  return pynq::clients::RunLoad({.file = operands.front(), .timeout = Timeout()}, channel,
                                std::cout);
}

absl::Status Unload(const std::vector<std::string>& operands, const Channel& channel) {
  return pynq::clients::RunUnload({.model = operands.front(), .timeout = Timeout()}, channel,
                                  std::cout);
}

absl::Status Health(const std::vector<std::string>&, const Channel& channel) {
  return pynq::clients::RunHealth(
      {.service = absl::GetFlag(FLAGS_health_service), .timeout = Timeout()}, channel, std::cout);
}

struct Command {
  absl::string_view name;
  bool takes_files;
  absl::Status (*run)(const std::vector<std::string>& files, const Channel& channel);
  // For commands that take files: exactly this many, or any number when 0.
  size_t exact_operands = 0;
};

constexpr Command kCommands[] = {
    {"classify", true, Classify, 0}, {"eval", false, Eval, 0},       {"bench", false, Bench, 0},
    {"metrics", false, Metrics, 0},  {"models", false, Models, 0},   {"health", false, Health, 0},
    {"load", true, Load, 1},         {"unload", true, Unload, 1},
};

// --help shows this program's flags only, named relative to the source tree rather than by the
// build machine's absolute path.
void ConfigureHelp() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "clients/cli_main.cc");
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [](absl::string_view file) {
    const size_t at = file.rfind("clients/");
    return std::string(at == absl::string_view::npos ? file : file.substr(at));
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  ConfigureHelp();
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::cerr << "pynq-infer: " << kUsage << "\n";
    return kExitUsage;
  }
  const absl::string_view name = args[1];
  const std::vector<std::string> operands(args.begin() + 2, args.end());
  const Command* command = nullptr;
  for (const Command& c : kCommands) {
    if (c.name == name) command = &c;
  }
  if (command == nullptr) {
    std::cerr << "pynq-infer: unknown command \"" << name
              << "\"; expected classify, eval, bench, metrics, models, load, unload or health (see --help)\n";
    return kExitUsage;
  }
  if (command->exact_operands != 0 && operands.size() != command->exact_operands) {
    std::cerr << "pynq-infer " << name << ": takes " << command->exact_operands
              << " argument, got " << operands.size() << " (see --help)\n";
    return kExitUsage;
  }
  if (!command->takes_files && !operands.empty()) {
    std::cerr << "pynq-infer " << name << ": unexpected argument \"" << operands.front() << "\"; "
              << name << " takes only flags (see --help)\n";
    return kExitUsage;
  }
  const absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      pynq::clients::CreateSecureChannel(absl::GetFlag(FLAGS_server), SecurityFromFlags());
  if (!channel.ok()) {
    std::cerr << "pynq-infer " << name << ": " << channel.status() << "\n";
    // Flags that do not fit together are bad usage; a file that cannot be read is a failure.
    return channel.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                           : kExitFailure;
  }
  const absl::Status status = command->run(operands, *channel);
  if (!status.ok()) {
    std::cerr << "pynq-infer " << name << ": " << status << "\n";
    return kExitFailure;
  }
  return 0;
}
