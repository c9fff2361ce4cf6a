// A fleet of three real pynq-inferd daemons (CPU backend) on loopback ports, behind (a) gRPC's
// own client-side balancing (clients/channel_security.h), (b) Debian's nginx with the shipped
// deploy/fleet/nginx/pynq-fleet.conf and (c) Debian's HAProxy with deploy/fleet/haproxy/, and
// scraped by Debian's Prometheus with the shipped recording rules. Checks that load spreads over
// every board, that SIGTERM to a board under load loses nothing and shows clients no error, that
// after SIGKILL every call ends once (answered, retried elsewhere, or reported), and that a
// restarted board is used again.
//
// Label `fleet`: it starts nginx, HAProxy and Prometheus and runs a few seconds of load per phase;
// the ASan stage leaves it out.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "clients/board_counts.h"
#include "clients/call_driver.h"
#include "clients/channel_security.h"
#include "clients/load_generator.h"
#include "clients/unary_calls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using clients::BoardCounts;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr char kModel[] = "mnist-bnn-tfc";
constexpr int kBoards = 3;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The port a daemon wrote to `path`, waiting up to 20 s for it.
int WaitForPortFile(const std::string& path) {
  for (int i = 0; i < 400; ++i) {
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(path)), &port) && port > 0) return port;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return 0;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

bool Listening(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

// A helper process (nginx, Prometheus) started by the test and killed at its end.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// Output of a shell command (curl).
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

struct Board {
  std::unique_ptr<testing::DaemonProcess> daemon;
  std::string name;
  int port = 0;
  int http_port = 0;
  int prometheus_port = 0;
  std::string log_path;
};

// Starts board `index`; on `port` when non-zero (a restart), else on a free one.
Board StartBoard(const std::string& dir, int index, int port = 0, int generation = 0) {
  Board board;
  board.name = absl::StrCat("board", index);
  const std::string stem = absl::StrCat(dir, "/", board.name, "-", generation);
  board.log_path = stem + ".log";
  std::vector<std::string> args = {
      "--board_name=" + board.name,      "--drain_delay_ms=1000",
      "--prometheus_listen=127.0.0.1:0", "--prometheus_port_file=" + stem + ".prometheus",
      "--http_listen=127.0.0.1:0",       "--http_port_file=" + stem + ".http",
      "--metrics_log_interval_s=3600",   "--http_threads=4"};
  if (port != 0) args.push_back(absl::StrCat("--listen=127.0.0.1:", port));
  auto daemon = testing::DaemonProcess::Start(
      {.args = args, .log_path = board.log_path, .only_models = {kModel}});
  EXPECT_TRUE(daemon.ok()) << daemon.status();
  if (!daemon.ok()) return board;
  board.daemon = *std::move(daemon);
  board.port = std::stoi(board.daemon->address().substr(board.daemon->address().rfind(':') + 1));
  board.http_port = WaitForPortFile(stem + ".http");
  board.prometheus_port = WaitForPortFile(stem + ".prometheus");
  return board;
}

// "since start N ok M failed" of the daemon's last summary line: every request it answered.
uint64_t AnsweredSinceStart(const std::string& log_path) {
  std::istringstream log(ReadAll(log_path));
  std::string line, summary;
  while (std::getline(log, line)) {
    if (line.find("since start") != std::string::npos) summary = line;
  }
  unsigned long long ok = 0, failed = 0;
  const size_t at = summary.find("since start ");
  if (at == std::string::npos ||
      std::sscanf(summary.c_str() + at, "since start %llu ok %llu failed", &ok, &failed) != 2) {
    ADD_FAILURE() << "no summary line in " << log_path;
  }
  return ok;
}

// Closed-loop Classify calls over `channel`; each call's outcome counted by code.
class Load {
 public:
  Load(std::shared_ptr<grpc::Channel> channel, uint32_t concurrency)
      : stub_(v1::Inference::NewStub(channel)) {
    spec_.model = kModel;
    spec_.request_timeout = absl::Seconds(20);
    for (const std::string& image : clients::SyntheticImages(784, 16, 7)) {
      requests_.emplace_back();
      requests_.back().set_model(kModel);
      requests_.back().add_images(image);
    }
    auto driver =
        clients::CallDriver::Create({.concurrency = concurrency,
                                     .issue = clients::NativeCalls(*stub_, spec_, requests_),
                                     .on_done = [this](const clients::CallDriver::Completion& c) {
                                       std::lock_guard lock(mu_);
                                       ++by_code_[c.status.code()];
                                       if (!c.status.ok()) last_error_ = c.status.ToString();
                                     }});
    EXPECT_TRUE(driver.ok()) << driver.status();
    driver_ = *std::move(driver);
    driver_->Start();
  }
  // Waits for every call: their completions use the members below.
  ~Load() {
    if (driver_ != nullptr) driver_->Stop();
  }

  // Stops sending and waits for every call; returns how many were still open after 30 s.
  size_t Stop() { return driver_ == nullptr ? 0 : driver_->Stop(absl::Seconds(30)); }
  uint64_t sent() const { return driver_->sent(); }
  uint64_t Count(absl::StatusCode code) {
    std::lock_guard lock(mu_);
    return by_code_[code];
  }
  uint64_t Ended() {
    std::lock_guard lock(mu_);
    uint64_t n = 0;
    for (const auto& [code, count] : by_code_) n += count;
    return n;
  }
  std::string Describe() {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [code, count] : by_code_) {
      absl::StrAppend(&out, absl::StatusCodeToString(code), " ", count, "; ");
    }
    return out + "last error: " + last_error_;
  }

 private:
  std::unique_ptr<v1::Inference::Stub> stub_;
  clients::LoadSpec spec_;
  std::vector<v1::ClassifyRequest> requests_;
  std::unique_ptr<clients::CallDriver> driver_;
  std::mutex mu_;
  std::map<absl::StatusCode, uint64_t> by_code_;
  std::string last_error_;
};

// Answers per board since `before`.
std::map<std::string, uint64_t> OkSince(const BoardCounts& counts,
                                        const std::map<std::string, BoardCounts::Tally>& before) {
  std::map<std::string, uint64_t> out;
  for (const auto& [board, tally] : counts.Snapshot()) {
    const auto it = before.find(board);
    out[board] = tally.ok - (it == before.end() ? 0 : it->second.ok);
  }
  return out;
}

std::string Describe(const std::map<std::string, uint64_t>& m) {
  return absl::StrJoin(m, ", ", absl::PairFormatter(": "));
}

std::vector<Board> StartBoards(const std::string& dir) {
  std::vector<Board> boards;
  for (int i = 0; i < kBoards; ++i) boards.push_back(StartBoard(dir, i));
  return boards;
}

// Drives load through `channel` and checks spread, SIGTERM, restart (if `restart`) and SIGKILL.
// A shipped balancer configuration (`path` in the checkout) with this test's addresses: its
// listeners' (`listeners`, from -> to) and the boards' (10.0.0.11-13, gRPC :50051 and REST :8000).
// Fails the test if the file no longer holds one of the addresses it replaces.
void WithTestAddresses(const std::string& path, const std::vector<Board>& boards,
                       std::vector<std::pair<std::string, std::string>> listeners,
                       std::string* config) {
  *config = ReadAll(testing::SourceDir() + "/" + path);
  for (int i = 0; i < kBoards; ++i) {
    listeners.push_back(
        {absl::StrCat("10.0.0.", 11 + i, ":50051"), absl::StrCat("127.0.0.1:", boards[i].port)});
    listeners.push_back({absl::StrCat("10.0.0.", 11 + i, ":8000"),
                         absl::StrCat("127.0.0.1:", boards[i].http_port)});
  }
  for (const auto& [from, to] : listeners) {
    ASSERT_TRUE(absl::StrContains(*config, from)) << path << " lost \"" << from << "\"";
    absl::StrReplaceAll({{from, to}}, config);
  }
}

// How many calls may fail while a board drains after SIGTERM. None for client-side balancing
// and HAProxy, which stop sending to a board that is NOT_SERVING. nginx does not see health and
// keeps sending until the board closes its connections, and nginx 1.22 does not resend a call
// that was already on a connection the board then closed: in one suite run of the three it failed
// 1 call of 9,067 (CANCELLED) while the board's own count of answers still equalled the
// clients', so the board lost nothing it had accepted. For nginx the test allows 1 in 1,000,
// only CANCELLED or UNAVAILABLE, and still checks that count exactly.
struct SigtermTolerance {
  uint64_t failures_per_1000 = 0;
};

void ExerciseFleet(const std::string& dir, std::vector<Board>& boards,
                   std::shared_ptr<grpc::Channel> channel, const BoardCounts& counts, bool restart,
                   const std::function<void()>& while_loaded = nullptr,
                   SigtermTolerance tolerance = {}) {
  // Spread: every board answers a share.
  {
    Load load(channel, 12);
    absl::SleepFor(absl::Seconds(2));
    if (while_loaded) while_loaded();
    ASSERT_EQ(load.Stop(), 0u);
    EXPECT_EQ(load.Count(absl::StatusCode::kOk), load.sent()) << load.Describe();
    const auto per_board = OkSince(counts, {});
    for (const Board& b : boards) {
      EXPECT_GT(per_board.count(b.name) ? per_board.at(b.name) : 0, load.sent() / 10)
          << "spread: " << Describe(per_board);
    }
    std::printf("spread over the boards: %s\n", Describe(per_board).c_str());
  }
  // SIGTERM to board 0 under load: no call fails, and the board answered every call it accepted.
  {
    Load load(channel, 12);
    absl::SleepFor(absl::Milliseconds(700));
    const auto before = counts.Snapshot();
    absl::StatusOr<int> exit_code = boards[0].daemon->Stop(absl::Seconds(30));
    absl::SleepFor(absl::Milliseconds(700));
    ASSERT_EQ(load.Stop(), 0u) << "calls left open";
    ASSERT_TRUE(exit_code.ok()) << exit_code.status();
    EXPECT_EQ(*exit_code, 0);
    const uint64_t failed = load.sent() - load.Count(absl::StatusCode::kOk);
    EXPECT_EQ(failed, load.Count(absl::StatusCode::kCancelled) +
                          load.Count(absl::StatusCode::kUnavailable))
        << "SIGTERM: " << load.Describe();
    EXPECT_LE(failed * 1000, tolerance.failures_per_1000 * load.sent())
        << "SIGTERM: " << load.Describe();
    // Every answer board 0 handed out reached a client: the clients' count of its answers over
    // the whole test is the daemon's own count (its last log line).
    const uint64_t client_seen = counts.Snapshot()[boards[0].name].ok;
    EXPECT_EQ(AnsweredSinceStart(boards[0].log_path), client_seen);
    std::printf("SIGTERM to %s: %llu calls, %llu failed; %s answered %llu since the signal\n",
                boards[0].name.c_str(), static_cast<unsigned long long>(load.sent()),
                static_cast<unsigned long long>(failed),
                boards[0].name.c_str(),
                static_cast<unsigned long long>(OkSince(counts, before)[boards[0].name]));
    boards[0].daemon.reset();
  }
  // The answers board 0 gave before it stopped; a restarted board 0 counts from zero.
  const uint64_t board0_before_restart = counts.Snapshot()[boards[0].name].ok;
  if (restart) {
    // The board comes back on its port and is used again.
    boards[0] = StartBoard(dir, 0, boards[0].port, 1);
    ASSERT_NE(boards[0].daemon, nullptr);
    Load load(channel, 12);
    absl::SleepFor(absl::Milliseconds(3500));
    const auto before = counts.Snapshot();
    absl::SleepFor(absl::Milliseconds(1000));
    ASSERT_EQ(load.Stop(), 0u);
    EXPECT_EQ(load.Count(absl::StatusCode::kOk), load.sent()) << load.Describe();
    const auto after = OkSince(counts, before);
    EXPECT_GT(after.count(boards[0].name) ? after.at(boards[0].name) : 0, 0u)
        << "the restarted board gets no calls: " << Describe(after);
  }
  // SIGKILL to board 1 under load: every call ends exactly once, answered or reported.
  {
    Load load(channel, 12);
    absl::SleepFor(absl::Milliseconds(700));
    kill(boards[1].daemon->pid(), SIGKILL);
    absl::SleepFor(absl::Milliseconds(1500));
    ASSERT_EQ(load.Stop(), 0u) << "calls left open";
    const uint64_t ok = load.Count(absl::StatusCode::kOk);
    const uint64_t unavailable = load.Count(absl::StatusCode::kUnavailable);
    EXPECT_EQ(load.Ended(), load.sent()) << load.Describe();
    EXPECT_EQ(ok + unavailable, load.sent()) << "SIGKILL: " << load.Describe();
    // No answer counted twice: the answers the clients received from the boards still up equal
    // what those boards report having answered.
    uint64_t surviving_seen = 0, surviving_served = 0;
    for (size_t i = 0; i < boards.size(); ++i) {
      if (i == 1 || boards[i].daemon == nullptr) continue;
      surviving_seen += counts.Snapshot()[boards[i].name].ok - (i == 0 ? board0_before_restart : 0);
      auto stub = v1::Inference::NewStub(
          grpc::CreateChannel(boards[i].daemon->address(), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      v1::GetMetricsResponse metrics;
      ASSERT_TRUE(stub->GetMetrics(&context, {}, &metrics).ok());
      for (const auto& m : metrics.models()) surviving_served += m.requests_ok();
    }
    EXPECT_EQ(surviving_seen, surviving_served);
    std::printf("SIGKILL to %s: %llu calls, %llu answered, %llu failed (UNAVAILABLE, reported)\n",
                boards[1].name.c_str(), static_cast<unsigned long long>(load.sent()),
                static_cast<unsigned long long>(ok), static_cast<unsigned long long>(unavailable));
  }
}

TEST(FleetE2eTest, DrainTurnsHealthNotServingWhileStillServing) {
  auto dir = testing::TestTempDir::Create({.prefix = "pynq-fleet-"});
  ASSERT_TRUE(dir.ok());
  auto daemon =
      testing::DaemonProcess::Start({.args = {"--drain_delay_ms=1500", "--http_listen=127.0.0.1:0",
                                              "--http_port_file=" + dir->path() + "/http"},
                                     .only_models = {kModel}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  const int http_port = WaitForPortFile(dir->path() + "/http");
  auto channel = grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);

  // Watch "" (the whole server) and the inference service: SERVING, then NOT_SERVING on SIGTERM.
  std::vector<std::thread> watchers;
  std::vector<std::vector<HealthCheckResponse::ServingStatus>> seen(2);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  const std::string services[] = {"", "pynq_infer.v1.Inference"};
  for (int w = 0; w < 2; ++w) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    watchers.emplace_back([&, w] {
      HealthCheckRequest request;
      request.set_service(services[w]);
      auto reader = health->Watch(contexts[w].get(), request);
      HealthCheckResponse response;
      while (reader->Read(&response)) {
        seen[w].push_back(response.status());
        if (response.status() == HealthCheckResponse::NOT_SERVING) break;
      }
      contexts[w]->TryCancel();
      reader->Finish();
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_EQ(kill((*daemon)->pid(), SIGTERM), 0);
  for (std::thread& t : watchers) t.join();
  for (int w = 0; w < 2; ++w) {
    ASSERT_EQ(seen[w].size(), 2u) << "service \"" << services[w] << "\"";
    EXPECT_EQ(seen[w][0], HealthCheckResponse::SERVING);
    EXPECT_EQ(seen[w][1], HealthCheckResponse::NOT_SERVING);
  }
  // Within the drain delay: calls still succeed, and REST readiness says not ready.
  auto stub = v1::Inference::NewStub(channel);
  v1::ClassifyRequest request;
  request.set_model(kModel);
  request.add_images(clients::SyntheticImages(784, 1, 3)[0]);
  grpc::ClientContext context;
  v1::ClassifyResponse response;
  const grpc::Status status = stub->Classify(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results_size(), 1);
  EXPECT_EQ(RunCommand(absl::StrCat("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:",
                                    http_port, "/v2/health/ready")),
            "400");
  absl::StatusOr<int> exit_code = (*daemon)->Stop(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

TEST(FleetE2eTest, ClientSideBalancingWithPrometheus) {
  auto dir = testing::TestTempDir::Create({.prefix = "pynq-fleet-"});
  ASSERT_TRUE(dir.ok());
  std::vector<Board> boards = StartBoards(dir->path());
  for (const Board& b : boards) ASSERT_NE(b.daemon, nullptr);

  // Prometheus: the shipped rules, the boards by file-based discovery, scraped every second.
  const std::string rules = testing::SourceDir() + "/deploy/fleet/prometheus/pynq-fleet.rules.yml";
  std::vector<std::string> targets;
  for (const Board& b : boards)
    targets.push_back(absl::StrCat("\"127.0.0.1:", b.prometheus_port, "\""));
  std::ofstream(dir->path() + "/boards.json")
      << "[{\"targets\": [" << absl::StrJoin(targets, ", ") << "]}]\n";
  std::ofstream(dir->path() + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "rule_files: [\"" << rules << "\"]\n"
      << "scrape_configs:\n  - job_name: pynq-inferd\n    file_sd_configs:\n"
      << "      - files: [\"" << dir->path() << "/boards.json\"]\n        refresh_interval: 1s\n";
  const int prometheus_port = FreePort();
  Child prometheus({"/usr/bin/prometheus", "--config.file=" + dir->path() + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir->path() + "/tsdb",
                    absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port)},
                   dir->path() + "/prometheus.log");
  ASSERT_TRUE(prometheus.started());

  std::vector<std::string> addresses;
  for (const Board& b : boards) addresses.push_back(b.daemon->address());
  auto counts = std::make_shared<BoardCounts>();
  auto channel = clients::CreateSecureChannel(absl::StrJoin(addresses, ","), {}, counts);
  ASSERT_TRUE(channel.ok()) << channel.status();

  // While the first load runs: the fleet's images/s from the recording rule.
  double fleet_images_per_s = 0;
  const auto query = [&] {
    for (int i = 0; i < 40 && fleet_images_per_s <= 0; ++i) {
      absl::SleepFor(absl::Milliseconds(250));
      const std::string body =
          RunCommand(absl::StrCat("curl -s 'http://127.0.0.1:", prometheus_port,
                                  "/api/v1/query?query=pynq:fleet_images_per_second:rate1m'"));
      // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[t,"123.4"]}]}}
      const size_t value = body.find("\"value\":[");
      if (value == std::string::npos) continue;
      const size_t quote = body.find('"', body.find(',', value) + 1);
      absl::SimpleAtod(body.substr(quote + 1, body.find('"', quote + 1) - quote - 1),
                       &fleet_images_per_s);
    }
  };
  ExerciseFleet(dir->path(), boards, *channel, *counts, /*restart=*/true, query);
  EXPECT_GT(fleet_images_per_s, 0) << ReadAll(dir->path() + "/prometheus.log");
  std::printf("Prometheus: pynq:fleet_images_per_second:rate1m = %.1f\n", fleet_images_per_s);
}

TEST(FleetE2eTest, Nginx) {
  auto dir = testing::TestTempDir::Create({.prefix = "pynq-fleet-"});
  ASSERT_TRUE(dir.ok());
  std::vector<Board> boards = StartBoards(dir->path());
  for (const Board& b : boards) ASSERT_NE(b.daemon, nullptr);

  // The shipped configuration, with the boards' and the listeners' addresses of this test.
  const int grpc_port = FreePort();
  const int rest_port = FreePort();
  std::string site;
  ASSERT_NO_FATAL_FAILURE(WithTestAddresses(
      "deploy/fleet/nginx/pynq-fleet.conf", boards,
      {{"listen 50051 http2", absl::StrCat("listen 127.0.0.1:", grpc_port, " http2")},
       {"listen 8000", absl::StrCat("listen 127.0.0.1:", rest_port)}},
      &site));
  const std::string d = dir->path();
  std::ofstream(d + "/pynq-fleet.conf") << site;
  std::ofstream(d + "/nginx.conf")
      << (geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\ndaemon off;\n"
      << "pid " << d << "/nginx.pid;\nerror_log " << d << "/nginx-error.log warn;\n"
      << "events { worker_connections 1024; }\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
      << "  fastcgi_temp_path " << d << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
      << "  scgi_temp_path " << d << "/scgi;\n  include " << d << "/pynq-fleet.conf;\n}\n";
  Child nginx({"/usr/sbin/nginx", "-p", d, "-c", d + "/nginx.conf", "-e", d + "/nginx-error.log"},
              d + "/nginx.log");
  ASSERT_TRUE(nginx.started());
  for (int i = 0; i < 100 && !Listening(grpc_port); ++i) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(Listening(grpc_port)) << ReadAll(d + "/nginx-error.log") << ReadAll(d + "/nginx.log");

  // REST through nginx too.
  EXPECT_EQ(RunCommand(absl::StrCat("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:",
                                    rest_port, "/v2/health/ready")),
            "200");

  auto counts = std::make_shared<BoardCounts>();
  auto channel = clients::CreateSecureChannel(absl::StrCat("127.0.0.1:", grpc_port), {}, counts);
  ASSERT_TRUE(channel.ok()) << channel.status();
  ExerciseFleet(d, boards, *channel, *counts, /*restart=*/false, nullptr,
                {.failures_per_1000 = 1});
}

TEST(FleetE2eTest, HaproxyWithActiveHealthChecks) {
  auto dir = testing::TestTempDir::Create({.prefix = "pynq-fleet-"});
  ASSERT_TRUE(dir.ok());
  std::vector<Board> boards = StartBoards(dir->path());
  for (const Board& b : boards) ASSERT_NE(b.daemon, nullptr);

  // The shipped configuration, with this test's addresses.
  const int grpc_port = FreePort();
  const int rest_port = FreePort();
  std::string config;
  ASSERT_NO_FATAL_FAILURE(WithTestAddresses(
      "deploy/fleet/haproxy/pynq-fleet.cfg", boards,
      {{"bind :50051", absl::StrCat("bind 127.0.0.1:", grpc_port)},
       {"bind :8000", absl::StrCat("bind 127.0.0.1:", rest_port)}},
      &config));
  const std::string d = dir->path();
  std::ofstream(d + "/haproxy.cfg") << config;
  Child haproxy({"/usr/sbin/haproxy", "-db", "-f", d + "/haproxy.cfg"}, d + "/haproxy.log");
  ASSERT_TRUE(haproxy.started());
  for (int i = 0; i < 100 && !Listening(grpc_port); ++i) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(Listening(grpc_port)) << ReadAll(d + "/haproxy.log");
  // The boards pass their first checks (rise 2, every 500 ms).
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(RunCommand(absl::StrCat("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:",
                                    rest_port, "/v2/health/ready")),
            "200");

  auto counts = std::make_shared<BoardCounts>();
  auto channel = clients::CreateSecureChannel(absl::StrCat("127.0.0.1:", grpc_port), {}, counts);
  ASSERT_TRUE(channel.ok()) << channel.status();
  ExerciseFleet(d, boards, *channel, *counts, /*restart=*/false);
  // HAProxy saw the draining board leave by its health check, not by failed calls.
  EXPECT_TRUE(absl::StrContains(ReadAll(d + "/haproxy.log"), "board1 is DOWN"))
      << ReadAll(d + "/haproxy.log");
}

}  // namespace
}  // namespace pynq
