// Runs the subcommands against a fake daemon served in-process: a deterministic "model" whose
// answer is readable from the image (class = first pixel % 10), so every printed value is known.
#include "clients/commands.h"

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/idx_file.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/temp_dir.h"

namespace pynq::clients {
namespace {

using ::pynq::testing::TestTempPath;
using grpc::health::v1::HealthCheckResponse;
using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using ::testing::HasSubstr;

constexpr int kClasses = 10;
// An image whose first pixel is this fails (INVALID_ARGUMENT), as a bad request would.
constexpr uint8_t kPoisonPixel = 255;

// How the fake ClassifyStream misbehaves, if at all.
enum class StreamMode {
  kNormal,
  // Holds responses until this many requests are unanswered (or the client half-closes).
  kHoldUntilWindowFull,
  // Reads every request and keeps the stream open, silent, until the client cancels.
  kNeverAnswer,
  kExtraResponse,
  kEndEarly,
};

class FakeInference final : public pynq_infer::v1::Inference::Service {
 public:
  StreamMode mode = StreamMode::kNormal;
  size_t hold = 0;  // For kHoldUntilWindowFull.

  grpc::Status Classify(grpc::ServerContext*, const ClassifyRequest* request,
                        ClassifyResponse* response) override {
    *response = Answer(*request);
    if (!response->has_error()) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(response->error().code()),
                        response->error().message());
  }

  grpc::Status ClassifyStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<ClassifyResponse, ClassifyRequest>* stream) override {
    ClassifyRequest request;
    std::vector<ClassifyResponse> held;
    while (stream->Read(&request)) {
      if (mode == StreamMode::kNeverAnswer) continue;
      held.push_back(Answer(request));
      if (mode == StreamMode::kHoldUntilWindowFull && held.size() < hold) continue;
      for (const ClassifyResponse& r : held) stream->Write(r);
      held.clear();
      if (mode == StreamMode::kExtraResponse) stream->Write(ClassifyResponse());
      if (mode == StreamMode::kEndEarly) return grpc::Status::OK;
    }
    for (const ClassifyResponse& r : held) stream->Write(r);
    if (mode == StreamMode::kNeverAnswer) {
      const absl::Time give_up = absl::Now() + absl::Seconds(10);
      while (!context->IsCancelled() && absl::Now() < give_up)
        absl::SleepFor(absl::Milliseconds(5));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetMetrics(grpc::ServerContext*, const pynq_infer::v1::GetMetricsRequest*,
                          pynq_infer::v1::GetMetricsResponse* response) override {
    response->set_uptime_s(12.5);
    auto* m = response->add_models();
    m->set_model("fake");
    m->set_backend("fpga");
    m->set_requests_ok(7);
    m->set_requests_failed(1);
    m->set_images(40);
    m->set_batches(8);
    m->set_device("sim");
    m->set_engine_state("ok");
    m->set_engine_faults(2);
    m->set_engine_resets(1);
    m->set_faulted_batches(2);
    m->set_fallback_batches(2);
    m->set_fallback_images(9);
    m->set_last_engine_fault("scores mismatch: model fake");
    m->set_shadow_checked(30);
    m->set_shadow_mismatches(4);
    m->set_shadow_skipped(1);
    m->mutable_latency()->set_count(7);
    m->mutable_latency()->set_p99_us(1234.5);
    return grpc::Status::OK;
  }

  grpc::Status ListModels(grpc::ServerContext*, const pynq_infer::v1::ListModelsRequest*,
                          pynq_infer::v1::ListModelsResponse* response) override {
    auto* m = response->add_models();
    m->set_name("fake");
    m->set_version("3");
    m->set_backend("cpu");
    m->set_channels(1);
    m->set_height(2);
    m->set_width(2);
    m->set_input_bytes(4);
    m->set_max_batch_size(16);
    m->add_labels("L0");
    m->add_labels("L1");
    m->add_layers("BNN_DENSE 4->2");
    return grpc::Status::OK;
  }

 private:
  static ClassifyResponse Answer(const ClassifyRequest& request) {
    ClassifyResponse response;
    response.set_tag(request.tag());
    if (request.model() != "fake") {
      response.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
      response.mutable_error()->set_message(absl::StrCat("model ", request.model(), " unknown"));
      return response;
    }
    for (const std::string& image : request.images()) {
      if (static_cast<uint8_t>(image[0]) == kPoisonPixel) {
        response.clear_results();
        response.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
        response.mutable_error()->set_message("poisoned image");
        return response;
      }
      const uint32_t best = static_cast<uint8_t>(image[0]) % kClasses;
      auto* result = response.add_results();
      result->set_class_index(best);
      result->set_label(absl::StrCat("L", best));
      for (int c = 0; c < kClasses; ++c) result->add_scores(c == static_cast<int>(best) ? 100 : c);
      // Ranking: the best class, then the others by score (= their index), highest first.
      std::vector<uint32_t> ranking = {best};
      for (uint32_t c = kClasses; c-- > 0;) {
        if (c != best) ranking.push_back(c);
      }
      for (uint32_t k = 0; k < request.top_k() && k < ranking.size(); ++k) {
        auto* top = result->add_top();
        top->set_class_index(ranking[k]);
        top->set_label(absl::StrCat("L", ranking[k]));
        top->set_score(result->scores(static_cast<int>(ranking[k])));
      }
      result->set_queue_us(11);
      result->set_accelerator_us(22);
      result->set_batch_size(static_cast<uint32_t>(request.images_size()));
    }
    response.set_model(request.model());
    response.set_model_version("3");
    response.set_backend("cpu");
    return response;
  }
};

class FakeHealth final : public grpc::health::v1::Health::Service {
 public:
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::SERVING;

  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     HealthCheckResponse* response) override {
    if (request->service() == "nonexistent") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
    }
    response->set_status(status);
    return grpc::Status::OK;
  }
};

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&inference_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }

  void TearDown() override { server_->Shutdown(); }

  // Writes `n` 2x2 images whose first pixel is `first_pixel(i)` and labels `label(i)`.
  template <typename PixelFn, typename LabelFn>
  static void WriteDataSet(size_t n, PixelFn first_pixel, LabelFn label) {
    std::string images = {0, 0, 8, 3, 0, 0, 0, static_cast<char>(n), 0, 0, 0, 2, 0, 0, 0, 2};
    std::string labels = {0, 0, 8, 1, 0, 0, 0, static_cast<char>(n)};
    for (size_t i = 0; i < n; ++i) {
      images += {static_cast<char>(first_pixel(i)), 1, 2, 3};
      labels += static_cast<char>(label(i));
    }
    std::ofstream(TestTempPath("images.idx"), std::ios::binary) << images;
    std::ofstream(TestTempPath("labels.idx"), std::ios::binary) << labels;
  }

  EvalOptions EvalOn(size_t max_images = 0) {
    return {.model = "fake",
            .images_path = TestTempPath("images.idx"),
            .labels_path = TestTempPath("labels.idx"),
            .window = 4,
            .images_per_request = 3,
            .max_images = static_cast<uint32_t>(max_images),
            .response_timeout = absl::Seconds(5)};
  }

  // The `key: value` lines of an eval report.
  static std::map<std::string, std::string> Report(const std::string& text) {
    std::map<std::string, std::string> report;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(": ", 1));
      if (kv.size() == 2 && kv[0] != "error") report[kv[0]] = kv[1];
    }
    return report;
  }

  FakeInference inference_;
  FakeHealth health_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(CommandsTest, ClassifyPrintsOneLinePerImage) {
  const std::string pgm = TestTempPath("seven.pgm");
  std::ofstream(pgm, std::ios::binary) << std::string("P5 2 2 255\n\x07\x00\x00\x00", 15);
  WriteDataSet(
      3, [](size_t i) { return 20 + i; }, [](size_t) { return 0; });
  std::ostringstream out;
  const absl::Status status = RunClassify({.model = "fake",
                                           .files = {pgm, TestTempPath("images.idx")},
                                           .top_k = 2,
                                           .images_per_request = 2},
                                          channel_, out);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(out.str(),
            absl::StrCat(pgm,
                         " class=7 label=\"L7\" top=[7 \"L7\" 100, 9 \"L9\" 9] queue_us=11 "
                         "accelerator_us=22 batch_size=2\n",
                         TestTempPath("images.idx"),
                         "#0 class=0 label=\"L0\" top=[0 \"L0\" 100, 9 \"L9\" 9] queue_us=11 "
                         "accelerator_us=22 batch_size=2\n",
                         TestTempPath("images.idx"),
                         "#1 class=1 label=\"L1\" top=[1 \"L1\" 100, 9 \"L9\" 9] queue_us=11 "
                         "accelerator_us=22 batch_size=2\n",
                         TestTempPath("images.idx"),
                         "#2 class=2 label=\"L2\" top=[2 \"L2\" 100, 9 \"L9\" 9] queue_us=11 "
                         "accelerator_us=22 batch_size=2\n"));
}

TEST_F(CommandsTest, ClassifyReportsTheRpcError) {
  WriteDataSet(
      1, [](size_t) { return 1; }, [](size_t) { return 1; });
  std::ostringstream out;
  const absl::Status status =
      RunClassify({.model = "other", .files = {TestTempPath("images.idx")}}, channel_, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("Classify"));
  EXPECT_THAT(status.message(), HasSubstr("model other unknown"));
  EXPECT_EQ(out.str(), "");
}

TEST_F(CommandsTest, ClassifyChecksFilesBeforeAnyRpc) {
  std::ostringstream out;
  EXPECT_EQ(
      RunClassify({.model = "fake", .files = {TestTempPath("absent.png")}}, channel_, out).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(RunClassify({.model = "fake", .files = {}}, channel_, out).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CommandsTest, EvalReportsAccuracyAndWritesScores) {
  // 20 images; labels agree with the fake model except for images 3 and 7.
  WriteDataSet(
      20, [](size_t i) { return i; },
      [](size_t i) { return (i == 3 || i == 7) ? (i + 1) % 10 : i % 10; });
  EvalOptions options = EvalOn();
  options.scores_out = TestTempPath("scores.idx");
  std::ostringstream out;
  const absl::Status status = RunEval(options, channel_, out);
  ASSERT_TRUE(status.ok()) << status << "\n" << out.str();

  std::map<std::string, std::string> report = Report(out.str());
  EXPECT_EQ(report["model"], "fake");
  EXPECT_EQ(report["model_version"], "3");
  EXPECT_EQ(report["backend"], "cpu");
  EXPECT_EQ(report["requests"], "7");  // ceil(20 / 3)
  EXPECT_EQ(report["failed_requests"], "0");
  EXPECT_EQ(report["images"], "20");
  EXPECT_EQ(report["correct"], "18");
  EXPECT_EQ(report["accuracy_pct"], "90.00");
  EXPECT_EQ(report["queue_us_mean"], "11.0");
  EXPECT_EQ(report["accelerator_us_mean"], "22.0");
  EXPECT_EQ(report["batch_size_mean"], "2.9");  // (6 requests x 3 x 3 + 2 x 2) / 20
  EXPECT_EQ(report["scores_out"], options.scores_out);
  EXPECT_EQ(report.count("failed_by_code"), 0u);
  for (const char* key : {"wall_s", "images_per_s", "latency_p50_ms", "latency_p90_ms",
                          "latency_p99_ms", "latency_max_ms"}) {
    double value = -1;
    EXPECT_TRUE(absl::SimpleAtod(report[key], &value)) << key;
    EXPECT_GE(value, 0) << key;
  }

  absl::StatusOr<Int32Matrix> scores = ReadIdxInt32Matrix(options.scores_out);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->rows, 20u);
  ASSERT_EQ(scores->cols, static_cast<uint32_t>(kClasses));
  for (uint32_t i = 0; i < 20; ++i) {
    for (int c = 0; c < kClasses; ++c) {
      EXPECT_EQ(scores->row(i)[c], c == static_cast<int>(i % 10) ? 100 : c) << i << "," << c;
    }
  }
}

TEST_F(CommandsTest, EvalFailsBelowMinimumAccuracyButWritesScores) {
  WriteDataSet(
      10, [](size_t i) { return i; }, [](size_t i) { return i < 9 ? i : 0; });
  EvalOptions options = EvalOn();
  options.min_accuracy_pct = 95;
  options.scores_out = TestTempPath("low.idx");
  std::ostringstream out;
  EXPECT_EQ(RunEval(options, channel_, out).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Report(out.str())["accuracy_pct"], "90.00");
  EXPECT_TRUE(ReadIdxInt32Matrix(options.scores_out).ok());
}

TEST_F(CommandsTest, EvalCountsAndPrintsFailedRequests) {
  // Image 4 is poisoned: request 1 (images 3-5) fails, the others are tallied.
  WriteDataSet(
      9, [](size_t i) { return i == 4 ? kPoisonPixel : i; }, [](size_t i) { return i; });
  EvalOptions options = EvalOn();
  options.scores_out = TestTempPath("partial.idx");
  std::ostringstream out;
  const absl::Status status = RunEval(options, channel_, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("1 of 3 requests failed"));
  EXPECT_THAT(out.str(),
              HasSubstr("error: request 1 (images 3-5): INVALID_ARGUMENT: poisoned image\n"));
  std::map<std::string, std::string> report = Report(out.str());
  EXPECT_EQ(report["failed_requests"], "1");
  EXPECT_EQ(report["failed_by_code"], "INVALID_ARGUMENT=1");
  EXPECT_EQ(report["images"], "6");
  EXPECT_EQ(report["accuracy_pct"], "100.00");
  EXPECT_EQ(ReadIdxInt32Matrix(options.scores_out).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CommandsTest, EvalNeverHasMoreThanTheWindowInFlight) {
  WriteDataSet(
      24, [](size_t i) { return i; }, [](size_t i) { return i % 10; });
  // The server answers only once `hold` requests are waiting: with a window of 4 requests,
  // holding for 4 works and holding for 5 can only time out.
  inference_.mode = StreamMode::kHoldUntilWindowFull;
  inference_.hold = 4;
  std::ostringstream out;
  EXPECT_TRUE(RunEval(EvalOn(), channel_, out).ok()) << out.str();

  inference_.hold = 5;
  EvalOptions options = EvalOn();
  options.response_timeout = absl::Milliseconds(300);
  const absl::Status status = RunEval(options, channel_, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("no response to request 0"));
}

TEST_F(CommandsTest, EvalTimesOutOnASilentServer) {
  WriteDataSet(
      5, [](size_t i) { return i; }, [](size_t i) { return i; });
  inference_.mode = StreamMode::kNeverAnswer;
  EvalOptions options = EvalOn();
  options.response_timeout = absl::Milliseconds(200);
  std::ostringstream out;
  EXPECT_EQ(RunEval(options, channel_, out).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(out.str(), "");
}

TEST_F(CommandsTest, EvalRejectsServersThatBreakTheStreamContract) {
  WriteDataSet(
      9, [](size_t i) { return i; }, [](size_t i) { return i; });
  std::ostringstream out;
  inference_.mode = StreamMode::kExtraResponse;
  EXPECT_EQ(RunEval(EvalOn(), channel_, out).code(), absl::StatusCode::kInternal);
  inference_.mode = StreamMode::kEndEarly;
  const absl::Status early = RunEval(EvalOn(), channel_, out);
  EXPECT_EQ(early.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(early.message(), HasSubstr("after answering 1 of 3 requests"));
}

TEST_F(CommandsTest, EvalHonoursLimitAndChecksInputs) {
  WriteDataSet(
      10, [](size_t i) { return i; }, [](size_t i) { return i; });
  std::ostringstream out;
  ASSERT_TRUE(RunEval(EvalOn(/*max_images=*/4), channel_, out).ok());
  EXPECT_EQ(Report(out.str())["images"], "4");

  EvalOptions no_window = EvalOn();
  no_window.window = 0;
  EXPECT_EQ(RunEval(no_window, channel_, out).code(), absl::StatusCode::kInvalidArgument);
  EvalOptions swapped = EvalOn();
  std::swap(swapped.images_path, swapped.labels_path);
  EXPECT_EQ(RunEval(swapped, channel_, out).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CommandsTest, EvalWithoutDaemonIsUnavailable) {
  WriteDataSet(
      3, [](size_t i) { return i; }, [](size_t i) { return i; });
  // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
  auto nowhere = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  std::ostringstream out;
  EXPECT_EQ(RunEval(EvalOn(), nowhere, out).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out.str(), "");
}

TEST_F(CommandsTest, MetricsPrintsATablePerModel) {
  std::ostringstream out;
  ASSERT_TRUE(RunMetrics({}, channel_, out).ok());
  EXPECT_THAT(out.str(), HasSubstr("uptime: 12.5 s\n"));
  EXPECT_THAT(out.str(), HasSubstr("model fake (backend fpga)\n"));
  EXPECT_THAT(out.str(), HasSubstr("requests: 7 ok, 1 failed\n"));
  EXPECT_THAT(out.str(), HasSubstr("images: 40 in 8 batches (mean batch 5.0), queue depth 0\n"));
  EXPECT_THAT(out.str(), HasSubstr("engine (sim): ok, 2 faults, 1 resets; this model: 2 faulted "
                                   "batches, 2 batches (9 images) run on the CPU instead\n"));
  EXPECT_THAT(out.str(), HasSubstr("last engine fault: scores mismatch: model fake\n"));
  EXPECT_THAT(out.str(), HasSubstr("shadow checks: 30 images checked, 4 mismatches, 1 skipped\n"));
  EXPECT_THAT(out.str(), HasSubstr("end-to-end                7        0.0        0.0        "
                                   "0.0     1234.5        0.0\n"));
}

TEST_F(CommandsTest, FleetMetricsPrintsARowPerBoardAndATotal) {
  std::ostringstream out;
  // The same fake twice, and an address where nothing listens.
  auto nowhere = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  const std::vector<Board> boards = {{"a:1", channel_}, {"b:2", channel_}, {"c:3", nowhere}};
  const absl::Status status = RunFleetMetrics({.timeout = absl::Seconds(5)}, boards, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("1 of 3 boards"));
  EXPECT_THAT(out.str(), HasSubstr("a:1                           1            7          1"));
  EXPECT_THAT(out.str(), HasSubstr("b:2                           1            7          1"));
  EXPECT_THAT(out.str(), HasSubstr("c:3                      UNAVAILABLE"));
  // Sums of the two that answered; the worst p99 (1234.5 us).
  EXPECT_THAT(out.str(), HasSubstr("total (2 of 3)                1           14          2"));
  EXPECT_THAT(out.str(), HasSubstr("1.23"));
}

TEST_F(CommandsTest, ModelsListsEachModel) {
  std::ostringstream out;
  ASSERT_TRUE(RunModels({}, channel_, out).ok());
  EXPECT_EQ(out.str(),
            "fake (version 3, backend cpu)\n"
            "  input: 1x2x2 uint8 (4 bytes), max batch 16, file 0 bytes\n"
            "  labels (2): \"L0\", \"L1\"\n"
            "  layers (1):\n"
            "    BNN_DENSE 4->2\n");
}

TEST_F(CommandsTest, HealthIsOkOnlyWhenServing) {
  std::ostringstream serving;
  EXPECT_TRUE(RunHealth({}, channel_, serving).ok());
  EXPECT_EQ(serving.str(), "SERVING\n");

  health_.status = HealthCheckResponse::NOT_SERVING;
  std::ostringstream not_serving;
  EXPECT_EQ(RunHealth({}, channel_, not_serving).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(not_serving.str(), "NOT_SERVING\n");

  std::ostringstream unknown;
  EXPECT_EQ(RunHealth({.service = "nonexistent"}, channel_, unknown).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pynq::clients

namespace pynq::clients {
namespace {

TEST_F(CommandsTest, BenchPrintsARowPerLevelAndWritesCsvAndPlot) {
  std::ostringstream out;
  const std::string csv = TestTempPath("bench.csv");
  const std::string svg = TestTempPath("bench.svg");
  absl::Status s = RunBench({.load = {.model = "fake",
                                      .warmup = absl::ZeroDuration(),
                                      .window = absl::Milliseconds(100),
                                      .max_windows = 3},
                             .concurrency = {1, 4},
                             .csv_path = csv,
                             .plot_path = svg},
                            channel_, out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(out.str(), HasSubstr("mode   load"));
  EXPECT_THAT(out.str(), HasSubstr("unary  c=1 "));
  EXPECT_THAT(out.str(), HasSubstr("unary  c=4 "));
  std::ifstream csv_in(csv);
  std::string header, row1, row2, extra;
  std::getline(csv_in, header);
  std::getline(csv_in, row1);
  std::getline(csv_in, row2);
  EXPECT_THAT(header, ::testing::StartsWith("mode,images_per_request,arrival,concurrency"));
  EXPECT_THAT(row1, ::testing::StartsWith("unary,1,closed,1,"));
  EXPECT_THAT(row2, ::testing::StartsWith("unary,1,closed,4,"));
  EXPECT_FALSE(std::getline(csv_in, extra));
  std::ifstream svg_in(svg);
  const std::string plot((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(plot, HasSubstr("<svg"));
  EXPECT_THAT(plot, HasSubstr(">c=4</text>"));
}

TEST_F(CommandsTest, LoadLevelsCountAnswersAndFailuresInEveryMode) {
  // The fake refuses images whose first pixel is 255 (INVALID_ARGUMENT): the level counts them.
  std::vector<std::string> images = {std::string("\x01\x02\x03\x04", 4),
                                     std::string("\xff\x02\x03\x04", 4)};
  const LoadSpec base{.model = "fake",
                      .warmup = absl::ZeroDuration(),
                      .window = absl::Milliseconds(150),
                      .max_windows = 2};
  LoadSpec stream = base;
  stream.mode = LoadMode::kStream;
  stream.concurrency = 4;
  stream.streams = 2;
  absl::StatusOr<LevelResult> r = RunLoadLevel(channel_, stream, images);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->requests_ok, 0u);
  EXPECT_GT(r->failed_by_code["INVALID_ARGUMENT"], 0u);
  EXPECT_EQ(r->requests_failed, r->failed_by_code["INVALID_ARGUMENT"]);

  LoadSpec open = base;
  open.images_per_request = 1;
  open.arrival = Arrival::kConstant;
  open.rate_per_s = 400;
  r = RunLoadLevel(channel_, open, {images[0]});
  ASSERT_TRUE(r.ok()) << r.status();
  // A constant 400 requests/s offered to a server that keeps up: about 400/s answered.
  EXPECT_NEAR(r->requests_per_s, 400, 120);
  EXPECT_EQ(r->requests_failed, 0u);

  open.mode = LoadMode::kStream;
  EXPECT_EQ(RunLoadLevel(channel_, open, images).status().code(),
            absl::StatusCode::kInvalidArgument);
  LoadSpec unknown = base;
  unknown.model = "nope";
  EXPECT_EQ(RunLoadLevel(channel_, unknown, images).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pynq::clients
