// End-to-end behaviour under load, against the real pynq-inferd serving a deliberately heavy model
// (784 -> 3x4096 -> 10, about a hundred times the shipped model's work per image), so that a few
// client threads offer far more images than the daemon can classify:
// - overload: memory stays bounded, every refusal is UNAVAILABLE at once, every accepted request
//   is answered, and the metrics (GetMetrics and Prometheus) count exactly what the clients saw;
// - SIGTERM under load: the daemon stops accepting, answers every request it accepted, and exits
//   0; not one accepted request is lost.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "accel/cpu/cpu_backend.h"
#include "accel/model/model_builder.h"
#include "clients/classify_driver.h"
#include "clients/windowed_stream.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

constexpr char kModel[] = "heavy-test-model";
// AddressSanitizer holds freed memory in a quarantine of up to 256 MB, so a daemon built with it
// grows by design; its memory bounds are checked only in the other builds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCheckMemory = false;
#else
constexpr bool kCheckMemory = true;
#endif
constexpr int kImagesPerRequest = 16;
constexpr size_t kDistinctImages = 64;

// A temporary directory holding the heavy model, the daemon's log and port files.
class Workspace {
 public:
  Workspace() {
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 5, .hidden = {4096, 4096, 4096}});
    spec.name = kModel;
    bytes_ = accel::SerializeModel(spec);
    std::ofstream(path() + "/heavy.pim", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes_.data()), static_cast<std::streamsize>(bytes_.size()));
  }
  const std::string& path() const { return dir_.path(); }
  const std::vector<uint8_t>& model_bytes() const { return bytes_; }

 private:
  testing::TestTempDir dir_{testing::TestTempDir::Options{.prefix = "pynq-overload-test-"}};
  std::vector<uint8_t> bytes_;
};

// The images the clients send, and their scores computed in the test by the CPU backend.
struct Images {
  std::vector<std::string> pixels;
  std::vector<std::vector<int32_t>> scores;

  explicit Images(const std::vector<uint8_t>& model_bytes) {
    auto model = *accel::Model::FromBytes(model_bytes);
    auto cpu = *accel::CpuAccelerator::Create(model, {});
    std::mt19937 rng(3);
    for (size_t i = 0; i < kDistinctImages; ++i) {
      std::string image(model->input_bytes(), '\0');
      for (char& p : image) p = static_cast<char>(rng());
      std::vector<int32_t> s(model->num_classes());
      EXPECT_TRUE(cpu->Run(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(image.data()),
                                               image.size()),
                           absl::MakeSpan(s))
                      .ok());
      pixels.push_back(std::move(image));
      scores.push_back(std::move(s));
    }
  }

  // Request j: images j, j+1, ... (mod the set), tagged j.
  v1::ClassifyRequest Request(size_t j) const {
    v1::ClassifyRequest r;
    r.set_model(kModel);
    r.set_tag(j);
    for (int i = 0; i < kImagesPerRequest; ++i) r.add_images(pixels[(j + i) % kDistinctImages]);
    return r;
  }

  // Whether `response` is the right answer to Request(tag).
  bool Correct(const v1::ClassifyResponse& response, size_t tag) const {
    if (response.results_size() != kImagesPerRequest) return false;
    for (int i = 0; i < kImagesPerRequest; ++i) {
      const auto& got = response.results(i).scores();
      const std::vector<int32_t>& want = scores[(tag + i) % kDistinctImages];
      if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) return false;
    }
    return true;
  }
};

// What the clients saw.
struct Outcomes {
  std::mutex mu;
  std::map<grpc::StatusCode, uint64_t> by_code;
  uint64_t wrong_answers = 0;
  uint64_t ok_after_mark = 0;  // OK answers that arrived after `mark` was set
  std::vector<std::string> unavailable_messages;
  std::vector<std::string> other_messages;
  std::atomic<bool> mark{false};

  void Add(grpc::StatusCode code, const std::string& message, bool correct) {
    std::lock_guard lock(mu);
    ++by_code[code];
    if (code == grpc::StatusCode::OK && !correct) ++wrong_answers;
    if (code == grpc::StatusCode::OK && mark) ++ok_after_mark;
    if (code == grpc::StatusCode::UNAVAILABLE && unavailable_messages.size() < 5) {
      unavailable_messages.push_back(message);
    }
    if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::OK &&
        other_messages.size() < 5) {
      other_messages.push_back(message);
    }
  }
  uint64_t Count(grpc::StatusCode code) {
    std::lock_guard lock(mu);
    return by_code[code];
  }
  std::string Describe() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& [code, count] : by_code) absl::StrAppend(&out, "code ", code, ": ", count, "; ");
    for (const auto& m : other_messages) absl::StrAppend(&out, "[", m, "] ");
    return out;
  }
  uint64_t Total() {
    std::lock_guard lock(mu);
    uint64_t n = 0;
    for (const auto& [code, count] : by_code) n += count;
    return n;
  }
};

// Unary Classify calls of Images::Request(index), `in_flight` at once, each answer sending the
// next until Stop(): open-loop enough to swamp the daemon, bounded on the client. Each answer is
// counted in `outcomes`. Starts nothing until Start().
std::unique_ptr<clients::ClassifyDriver> UnaryLoad(std::shared_ptr<grpc::Channel> channel,
                                                   const Images& images, Outcomes& outcomes,
                                                   uint32_t in_flight) {
  absl::StatusOr<std::unique_ptr<clients::ClassifyDriver>> driver = clients::ClassifyDriver::Create(
      std::move(channel),
      {.concurrency = in_flight,
       .call_timeout = absl::Seconds(60),
       .request = [&images](uint64_t index,
                            v1::ClassifyRequest& scratch) -> const v1::ClassifyRequest& {
         scratch = images.Request(index);
         return scratch;
       },
       .on_done = [&images, &outcomes](const clients::ClassifyDriver::Completion& c) {
         outcomes.Add(c.status.error_code(), c.status.error_message(),
                      c.status.ok() && images.Correct(c.response, c.index));
       }});
  EXPECT_TRUE(driver.ok()) << driver.status();
  return driver.ok() ? *std::move(driver) : nullptr;
}

// Resident memory of process `pid`, bytes (VmRSS), or 0 if it cannot be read.
uint64_t ResidentBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// The body of GET /metrics from 127.0.0.1:port, or "" on failure.
std::string HttpGetMetrics(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) reply.append(buffer, n);
    }
  }
  close(fd);
  return reply;
}

int ReadPort(const std::string& path) {
  std::ifstream in(path);
  int port = 0;
  in >> port;
  return port;
}

TEST(OverloadE2eTest, OverloadIsRefusedAtOnceMemoryStaysBoundedAndEveryAcceptedRequestIsAnswered) {
  Workspace work;
  const Images images(work.model_bytes());
  auto daemon = testing::DaemonProcess::Start(
      {.args = {"--model_dir=" + work.path(), "--max_queue_images=256",
                "--max_images_per_request=64", "--max_batch_size=64", "--metrics_log_interval_s=0",
                "--prometheus_listen=127.0.0.1:0",
                "--prometheus_port_file=" + work.path() + "/prometheus-port"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto channel = grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials());

  Outcomes outcomes;
  std::vector<uint64_t> rss;
  {
    // 512 requests of 16 images outstanding against a queue of 256 images, for 3 seconds.
    std::unique_ptr<clients::ClassifyDriver> load = UnaryLoad(channel, images, outcomes, 512);
    ASSERT_NE(load, nullptr);
    load->Start();
    const absl::Time end = absl::Now() + absl::Seconds(3);
    while (absl::Now() < end) {
      rss.push_back(ResidentBytes((*daemon)->pid()));
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_EQ(load->Stop(absl::Seconds(60)), 0u) << "calls left unanswered";
    EXPECT_EQ(outcomes.Total(), load->sent());
  }

  const uint64_t ok = outcomes.Count(grpc::StatusCode::OK);
  const uint64_t refused = outcomes.Count(grpc::StatusCode::UNAVAILABLE);
  EXPECT_GT(ok, 0u);
  EXPECT_GT(refused, ok) << "the load did not exceed the daemon's capacity";
  EXPECT_EQ(ok + refused, outcomes.Total()) << outcomes.Describe();
  EXPECT_EQ(outcomes.wrong_answers, 0u);
  for (const std::string& m : outcomes.unavailable_messages) {
    EXPECT_THAT(m, HasSubstr("queue is full"));
  }

  // Bounded memory: offered ~10^5 requests of 12.5 kB, the daemon stayed small, and did not grow
  // from the first second of overload to the last.
  ASSERT_GE(rss.size(), 30u);
  const uint64_t first = *std::max_element(rss.begin(), rss.begin() + 20);
  const uint64_t last = *std::max_element(rss.end() - 20, rss.end());
  std::printf("daemon RSS under overload: first second max %.1f MB, last second max %.1f MB; "
              "%llu answered, %llu refused\n",
              first / 1e6, last / 1e6, static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(refused));
  if (kCheckMemory) {
    EXPECT_LT(last, 400u << 20);
    EXPECT_LT(last, first + (32u << 20));
  }

  // The daemon counted exactly what the clients saw, and still serves.
  auto stub = v1::Inference::NewStub(channel);
  grpc::ClientContext context;
  v1::GetMetricsResponse metrics;
  ASSERT_TRUE(stub->GetMetrics(&context, {}, &metrics).ok());
  ASSERT_EQ(metrics.models_size(), 1);
  const v1::ModelMetrics& m = metrics.models(0);
  EXPECT_EQ(m.requests_ok(), ok);
  EXPECT_EQ(m.requests_failed(), refused);
  for (const v1::FailureCount& f : m.failures()) {
    EXPECT_EQ(f.count(), f.reason() == "queue_full" ? refused : 0u) << f.reason();
  }
  EXPECT_EQ(m.queue_depth(), 0u);
  EXPECT_EQ(m.max_queue_images(), 256u);
  const std::string scrape = HttpGetMetrics(ReadPort(work.path() + "/prometheus-port"));
  EXPECT_THAT(scrape, HasSubstr(absl::StrCat("pynq_inference_request_failure_total{model=\"",
                                             kModel, "\",reason=\"queue_full\"} ", refused)));
  EXPECT_THAT(scrape, HasSubstr(absl::StrCat("pynq_inference_request_success_total{model=\"",
                                             kModel, "\"} ", ok)));
  {
    grpc::ClientContext c;
    v1::ClassifyResponse response;
    const v1::ClassifyRequest request = images.Request(7);
    ASSERT_TRUE(stub->Classify(&c, request, &response).ok());
    EXPECT_TRUE(images.Correct(response, 7));
  }
  absl::StatusOr<int> exit_code = (*daemon)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

TEST(OverloadE2eTest, SigtermUnderLoadLosesNoAcceptedRequest) {
  Workspace work;
  const Images images(work.model_bytes());
  const std::string log_path = work.path() + "/daemon.log";
  auto daemon = testing::DaemonProcess::Start(
      {.args = {"--model_dir=" + work.path(), "--max_queue_images=1024",
                "--max_images_per_request=64", "--metrics_log_interval_s=3600"},
       .log_path = log_path});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto channel = grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials());

  Outcomes unary;
  Outcomes streamed;
  std::unique_ptr<clients::ClassifyDriver> load = UnaryLoad(channel, images, unary, 128);
  ASSERT_NE(load, nullptr);
  std::atomic<bool> stop_streams{false};
  std::vector<std::thread> streams;
  std::vector<absl::Status> stream_status(2);
  for (int s = 0; s < 2; ++s) {
    streams.emplace_back([&, s] {
      auto stub = v1::Inference::NewStub(channel);
      stream_status[s] = clients::RunWindowedStream(
          *stub, {.window = 16, .response_timeout = absl::Seconds(60), .stop = &stop_streams},
          std::numeric_limits<size_t>::max(),
          [&](size_t i, v1::ClassifyRequest* r) { *r = images.Request(i); },
          [&](size_t i, const v1::ClassifyResponse& response, absl::Duration) {
            const grpc::StatusCode code = response.has_error()
                                              ? static_cast<grpc::StatusCode>(response.error().code())
                                              : grpc::StatusCode::OK;
            streamed.Add(code, response.error().message(), images.Correct(response, i));
          });
    });
  }
  load->Start();
  absl::SleepFor(absl::Seconds(1));

  // SIGTERM while the queue is full of accepted work; the clients keep sending meanwhile.
  unary.mark = true;
  streamed.mark = true;
  absl::StatusOr<int> exit_code = (*daemon)->Stop(absl::Seconds(60));
  ASSERT_EQ(load->Stop(absl::Seconds(60)), 0u) << "calls left unanswered";
  stop_streams = true;
  for (std::thread& t : streams) t.join();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);

  // Every call ended with an answer or a refusal, never DEADLINE_EXCEEDED, INTERNAL, ..., and
  // every answer is right. Unary calls may also end CANCELLED: gRPC itself cancels the calls it
  // has received but not yet handed to the service when the server shuts down. Those never
  // reached the daemon's code; the server-side count below shows no accepted call was among
  // them.
  const uint64_t unary_ok = unary.Count(grpc::StatusCode::OK);
  const uint64_t stream_ok = streamed.Count(grpc::StatusCode::OK);
  EXPECT_EQ(unary_ok + unary.Count(grpc::StatusCode::UNAVAILABLE) +
                unary.Count(grpc::StatusCode::CANCELLED),
            unary.Total())
      << unary.Describe();
  EXPECT_EQ(stream_ok + streamed.Count(grpc::StatusCode::UNAVAILABLE), streamed.Total())
      << streamed.Describe();
  EXPECT_EQ(unary.wrong_answers + streamed.wrong_answers, 0u);
  EXPECT_GT(unary.ok_after_mark, 0u) << "no request accepted before SIGTERM was answered after it";
  for (const absl::Status& s : stream_status) {
    EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kUnavailable) << s;
  }

  // The daemon's last summary line (covering its whole life) counts as many answers as the
  // clients received, and refusals only: every request the daemon accepted was answered.
  std::ifstream log(log_path);
  std::string line, summary;
  while (std::getline(log, line)) {
    if (line.find("since start") != std::string::npos) summary = line;
  }
  const size_t since = summary.find("since start ");
  ASSERT_NE(since, std::string::npos) << "no summary line in the daemon's log";
  unsigned long long server_ok = 0, server_failed = 0;
  ASSERT_EQ(std::sscanf(summary.c_str() + since, "since start %llu ok %llu failed", &server_ok,
                        &server_failed),
            2)
      << summary;
  EXPECT_EQ(server_ok, unary_ok + stream_ok) << summary;
  // The failures of the interval, "+N failed (reason n, ...)": refusals only.
  if (const size_t open = summary.find("failed ("); open != std::string::npos && open < since) {
    const std::string reasons = summary.substr(open, summary.find(')', open) - open);
    for (const char* loss : {"deadline", "cancelled", "backend", "invalid"}) {
      EXPECT_THAT(reasons, ::testing::Not(HasSubstr(loss))) << summary;
    }
  }
  std::printf("SIGTERM under load: %llu unary and %llu stream answers (%llu unary after SIGTERM), "
              "%llu + %llu refusals, %llu unary calls cancelled by gRPC before reaching the "
              "service\n",
              static_cast<unsigned long long>(unary_ok), static_cast<unsigned long long>(stream_ok),
              static_cast<unsigned long long>(unary.ok_after_mark),
              static_cast<unsigned long long>(unary.Count(grpc::StatusCode::UNAVAILABLE)),
              static_cast<unsigned long long>(streamed.Count(grpc::StatusCode::UNAVAILABLE)),
              static_cast<unsigned long long>(unary.Count(grpc::StatusCode::CANCELLED)));
}

}  // namespace
}  // namespace pynq
