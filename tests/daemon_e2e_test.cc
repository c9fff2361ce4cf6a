// End-to-end: the real pynq-inferd binary on a loopback port, serving the shipped models, talked
// to by a real gRPC client. These tests exercise the service with mnist-bnn-tfc; every shipped
// model's accuracy through the daemon is zoo_e2e_test's. CTest runs this file twice: on the CPU
// backend, and with PYNQ_E2E_ACCELERATOR=fpga on the FPGA engine on the virtual board
// (--device=sim), where every score must still be the golden one, bit for bit.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/idx_file.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"
#include "tests/support/zoo_manifest.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

constexpr char kModel[] = "mnist-bnn-tfc";
constexpr int kMaxImagesPerRequest = 256;
constexpr int kMaxMessageBytes = 512 * 1024;

// "cpu" or "fpga": the backend the daemon under test is started with.
std::string Backend() {
  const char* backend = std::getenv("PYNQ_E2E_ACCELERATOR");
  return backend == nullptr ? "cpu" : backend;
}

// Shared by every test: one daemon and the held-out split with its golden scores.
class DaemonE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto heldout = testing::ReadHeldOutSet(kModel);
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    heldout_ = new testing::TestSet(*std::move(heldout));
    ASSERT_EQ(heldout_->images.count, 2000u);
    ASSERT_EQ(heldout_->golden.rows, 2000u);

    testing::DaemonProcess::Options options{
        .args = {absl::StrCat("--max_images_per_request=", kMaxImagesPerRequest),
                 absl::StrCat("--max_message_bytes=", kMaxMessageBytes),
                 "--max_queue_delay_us=200", "--accelerator=" + Backend(), "--device=sim",
                 // No fallback, so a fault fails the test (every shipped model runs on the engine);
                 // a generous timeout, so a loaded machine does not make one.
                 "--cpu_fallback=false", "--engine_timeout_ms=10000",
                 "--model_dir=" + testing::SourceDir() + "/models/zoo"}};
    auto daemon = testing::DaemonProcess::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = daemon->release();
    channel_ = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials()));
  }

  static void TearDownTestSuite() {
    delete channel_;
    if (daemon_ != nullptr) {
      // SIGTERM drains and exits cleanly.
      absl::StatusOr<int> exit_code = daemon_->Stop();
      EXPECT_TRUE(exit_code.ok()) << exit_code.status();
      EXPECT_EQ(exit_code.value_or(-1), 0);
    }
    delete daemon_;
    delete heldout_;
  }

  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    stub_ = v1::Inference::NewStub(*channel_);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  static std::string Image(size_t i) {
    absl::Span<const uint8_t> pixels = heldout_->images.image(i);
    return std::string(pixels.begin(), pixels.end());
  }

  static v1::ClassifyRequest Request(size_t first, size_t count) {
    v1::ClassifyRequest request;
    request.set_model(kModel);
    for (size_t i = first; i < first + count; ++i) request.add_images(Image(i));
    return request;
  }

  grpc::Status Classify(const v1::ClassifyRequest& request, v1::ClassifyResponse* response) {
    return stub_->Classify(Context().get(), request, response);
  }

  // A good request still gets a good answer: the daemon kept serving.
  void ExpectStillServing() {
    v1::ClassifyResponse response;
    grpc::Status status = Classify(Request(0, 1), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.results_size(), 1);
  }

  static testing::DaemonProcess* daemon_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static testing::TestSet* heldout_;
  std::unique_ptr<v1::Inference::Stub> stub_;
};

testing::DaemonProcess* DaemonE2eTest::daemon_ = nullptr;
std::shared_ptr<grpc::Channel>* DaemonE2eTest::channel_ = nullptr;
testing::TestSet* DaemonE2eTest::heldout_ = nullptr;

TEST_F(DaemonE2eTest, HealthIsServing) {
  auto health = grpc::health::v1::Health::NewStub(*channel_);
  for (const std::string service : {"", "pynq_infer.v1.Inference"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
}

TEST_F(DaemonE2eTest, ReflectionListsTheService) {
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(*channel_);
  auto context = Context();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, ::testing::Contains("pynq_infer.v1.Inference"));
  EXPECT_THAT(names, ::testing::Contains("grpc.health.v1.Health"));
  EXPECT_TRUE(stream->Finish().ok());
}

// Finds `name` in a repeated field of messages with a model name, by `name_of`.
template <typename Messages, typename NameOf>
int IndexOf(const Messages& messages, const std::string& name, NameOf name_of) {
  for (int i = 0; i < messages.size(); ++i) {
    if (name_of(messages.Get(i)) == name) return i;
  }
  return -1;
}

TEST_F(DaemonE2eTest, ListModelsDescribesTheShippedModel) {
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub_->ListModels(Context().get(), {}, &response).ok());
  // The daemon serves every model file of its model directory, the whole zoo, on either backend:
  // the engine runs the binarized and the int8 layers.
  std::vector<std::string> listed, served;
  for (const v1::ModelInfo& m : response.models()) listed.push_back(m.name());
  auto zoo = testing::ReadZooManifest(testing::SourceDir() + "/models");
  ASSERT_TRUE(zoo.ok()) << zoo.status();
  for (const testing::ZooEntry& e : *zoo) served.push_back(e.name);
  EXPECT_THAT(listed, ::testing::UnorderedElementsAreArray(served));
  const int index = IndexOf(response.models(), kModel, [](const auto& m) { return m.name(); });
  ASSERT_GE(index, 0);
  const v1::ModelInfo& m = response.models(index);
  EXPECT_EQ(m.name(), kModel);
  EXPECT_EQ(m.input_bytes(), 784u);
  EXPECT_EQ(m.height(), 28u);
  EXPECT_EQ(m.width(), 28u);
  EXPECT_THAT(m.labels(), ::testing::ElementsAre("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
  EXPECT_THAT(m.layers(), ::testing::ElementsAre(HasSubstr("INPUT_BINARIZE 784->784"),
                                                  "BNN_DENSE 784->64", "BNN_DENSE_SCORES 64->10"));
  EXPECT_EQ(m.backend(), Backend());
  EXPECT_GT(m.file_bytes(), 784u * 64 / 8);
}

// Every held-out image, through concurrent unary calls of several images each: the scores are
// the Python integer reference's, bit for bit, and the accuracy meets the model's target.
TEST_F(DaemonE2eTest, HeldOutScoresMatchGoldenAndAccuracyMeetsTarget) {
  constexpr size_t kThreads = 4;
  constexpr size_t kPerRequest = 25;
  std::vector<std::vector<int32_t>> scores(heldout_->images.count);
  std::vector<uint32_t> predicted(heldout_->images.count);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::Inference::NewStub(*channel_);
      for (size_t first = t * kPerRequest; first < heldout_->images.count;
           first += kThreads * kPerRequest) {
        v1::ClassifyResponse response;
        grpc::Status status = stub->Classify(Context().get(), Request(first, kPerRequest), &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_EQ(response.results_size(), static_cast<int>(kPerRequest));
        for (size_t k = 0; k < kPerRequest; ++k) {
          const v1::Classification& r = response.results(k);
          scores[first + k].assign(r.scores().begin(), r.scores().end());
          predicted[first + k] = r.class_index();
          EXPECT_GE(r.batch_size(), 1u);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  size_t correct = 0;
  for (size_t i = 0; i < heldout_->images.count; ++i) {
    absl::Span<const int32_t> expected = heldout_->golden.row(i);
    ASSERT_THAT(scores[i], ::testing::ElementsAreArray(expected.begin(), expected.end()))
        << "image " << i;
    const auto best = static_cast<uint32_t>(
        std::max_element(expected.begin(), expected.end()) - expected.begin());
    EXPECT_EQ(predicted[i], best) << "image " << i;  // max_element picks the first of ties too
    correct += predicted[i] == heldout_->labels[i];
  }
  const double accuracy = 100.0 * static_cast<double>(correct) / heldout_->images.count;
  EXPECT_GE(accuracy, 91.0);
  std::printf("held-out accuracy through the daemon: %.2f%%\n", accuracy);
}

TEST_F(DaemonE2eTest, TopKIsOrderedBestFirstWithLabels) {
  v1::ClassifyRequest request = Request(7, 1);
  request.set_top_k(10);
  request.set_tag(4242);
  v1::ClassifyResponse response;
  ASSERT_TRUE(Classify(request, &response).ok());
  EXPECT_EQ(response.tag(), 4242u);
  EXPECT_EQ(response.model(), kModel);
  const v1::Classification& r = response.results(0);
  ASSERT_EQ(r.top_size(), 10);
  EXPECT_EQ(r.top(0).class_index(), r.class_index());
  EXPECT_EQ(r.top(0).label(), r.label());
  for (int k = 1; k < 10; ++k) {
    const auto& a = r.top(k - 1);
    const auto& b = r.top(k);
    EXPECT_TRUE(a.score() > b.score() || (a.score() == b.score() && a.class_index() < b.class_index()));
    EXPECT_EQ(b.score(), r.scores(b.class_index()));
    EXPECT_EQ(b.label(), std::to_string(b.class_index()));
  }
}

TEST_F(DaemonE2eTest, BadRequestsGetTheRightCodesAndTheDaemonKeepsServing) {
  struct Case {
    std::string name;
    v1::ClassifyRequest request;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  {
    v1::ClassifyRequest r = Request(0, 1);
    r.set_model("no-such-model");
    cases.push_back({"unknown model", r, grpc::StatusCode::NOT_FOUND,
                     "model \"no-such-model\" is not loaded; loaded models: "});
  }
  {
    v1::ClassifyRequest r;
    r.set_model(kModel);
    cases.push_back({"no images", r, grpc::StatusCode::INVALID_ARGUMENT, "request has no images"});
  }
  {
    v1::ClassifyRequest r = Request(0, 3);
    r.mutable_images(1)->resize(783);
    cases.push_back({"short image", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "image 1 has 783 bytes; model mnist-bnn-tfc takes 1x28x28 uint8 images of 784"});
  }
  {
    v1::ClassifyRequest r = Request(0, 1);
    r.mutable_images(0)->append("x");
    cases.push_back({"long image", r, grpc::StatusCode::INVALID_ARGUMENT, "image 0 has 785 bytes"});
  }
  cases.push_back({"too many images", Request(0, kMaxImagesPerRequest + 1),
                   grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("request has ", kMaxImagesPerRequest + 1,
                                " images, more than the ", kMaxImagesPerRequest, " allowed")});
  {
    v1::ClassifyRequest r = Request(0, 1);
    r.set_top_k(11);
    cases.push_back({"top_k too big", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "top_k is 11, but model mnist-bnn-tfc has only 10 classes"});
  }
  {
    v1::ClassifyRequest r = Request(0, 1);
    r.mutable_images(0)->resize(kMaxMessageBytes + 1);
    cases.push_back({"oversized message", r, grpc::StatusCode::RESOURCE_EXHAUSTED, ""});
  }
  for (const Case& c : cases) {
    v1::ClassifyResponse response;
    grpc::Status status = Classify(c.request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
    ExpectStillServing();
  }
}

// A stream answers in request order; a bad request in the middle gets an error response of its
// own and the stream goes on.
TEST_F(DaemonE2eTest, StreamAnswersInOrderAndReportsBadRequestsInline) {
  auto context = Context();
  auto stream = stub_->ClassifyStream(context.get());
  constexpr size_t kRequests = 300;
  constexpr size_t kBad = 123;
  std::thread writer([&] {
    for (size_t i = 0; i < kRequests; ++i) {
      v1::ClassifyRequest r = Request(i, 1 + i % 3);
      r.set_tag(i);
      if (i == kBad) r.mutable_images(0)->resize(10);
      if (!stream->Write(r)) return;
    }
    stream->WritesDone();
  });
  v1::ClassifyResponse response;
  size_t received = 0;
  while (stream->Read(&response)) {
    ASSERT_EQ(response.tag(), received);
    if (received == kBad) {
      EXPECT_EQ(response.error().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_THAT(response.error().message(), HasSubstr("image 0 has 10 bytes"));
      EXPECT_EQ(response.results_size(), 0);
    } else {
      EXPECT_EQ(response.error().code(), 0) << response.error().message();
      ASSERT_EQ(response.results_size(), static_cast<int>(1 + received % 3));
      for (int k = 0; k < response.results_size(); ++k) {
        absl::Span<const int32_t> expected = heldout_->golden.row(received + k);
        EXPECT_THAT(response.results(k).scores(),
                    ::testing::ElementsAreArray(expected.begin(), expected.end()));
      }
    }
    ++received;
  }
  writer.join();
  EXPECT_EQ(received, kRequests);
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(DaemonE2eTest, MetricsCountWhatWasServed) {
  v1::GetMetricsResponse before;
  ASSERT_TRUE(stub_->GetMetrics(Context().get(), {}, &before).ok());
  v1::ClassifyResponse response;
  ASSERT_TRUE(Classify(Request(0, 5), &response).ok());
  v1::ClassifyRequest bad = Request(0, 1);
  bad.mutable_images(0)->clear();
  ASSERT_FALSE(Classify(bad, &response).ok());
  v1::GetMetricsResponse after;
  ASSERT_TRUE(stub_->GetMetrics(Context().get(), {}, &after).ok());
  const auto model_of = [](const v1::ModelMetrics& m) { return m.model(); };
  const int index_after = IndexOf(after.models(), kModel, model_of);
  const int index_before = IndexOf(before.models(), kModel, model_of);
  ASSERT_GE(index_after, 0);
  ASSERT_GE(index_before, 0);
  const v1::ModelMetrics& a = after.models(index_after);
  const v1::ModelMetrics& b = before.models(index_before);
  EXPECT_EQ(a.model(), kModel);
  EXPECT_EQ(a.backend(), Backend());
  if (Backend() == "fpga") {  // every batch ran on the engine, none faulted
    EXPECT_EQ(a.device(), "sim");
    EXPECT_EQ(a.engine_state(), "ok");
    EXPECT_EQ(a.engine_faults(), 0u);
    EXPECT_EQ(a.fallback_batches(), 0u);
  }
  EXPECT_EQ(a.requests_ok() - b.requests_ok(), 1u);
  EXPECT_EQ(a.requests_failed() - b.requests_failed(), 1u);
  EXPECT_EQ(a.images() - b.images(), 5u);
  EXPECT_GE(a.batches() - b.batches(), 1u);
  EXPECT_GT(a.latency().count(), 0u);
  EXPECT_GT(a.latency().p50_us(), 0);
  EXPECT_LE(a.latency().p50_us(), a.latency().p99_us());
  EXPECT_GT(after.uptime_s(), 0);
  EXPECT_GT(a.images_per_s_total(), 0);
}

// The README's main job: the real `pynq-infer eval` client streams the held-out split through the
// daemon, reports the accuracy, and writes scores that equal the golden file.
TEST_F(DaemonE2eTest, CliEvalReportsAccuracyAndWritesGoldenScores) {
  const char* cli = std::getenv("PYNQ_INFER_CLI");
  ASSERT_NE(cli, nullptr) << "PYNQ_INFER_CLI is not set";
  const std::string scores_path = testing::TestTempPath("eval-scores.idx");
  const std::string command = absl::StrCat(
      cli, " eval --server=", daemon_->address(), " --model=", kModel,
      " --images=", testing::HeldOutImagesPath(), " --labels=", testing::HeldOutLabelsPath(),
      " --images_per_request=3 --min_accuracy=91 --scores_out=", scores_path);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  ASSERT_EQ(status, 0) << output;
  EXPECT_THAT(output, HasSubstr("images: 2000\n"));
  EXPECT_THAT(output, HasSubstr("failed_requests: 0\n"));
  EXPECT_THAT(output, HasSubstr("accuracy_pct: 92.80\n"));
  EXPECT_THAT(output, HasSubstr("backend: " + Backend() + "\n"));
  auto written = clients::ReadIdxInt32Matrix(scores_path);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->values, heldout_->golden.values);
}

}  // namespace
}  // namespace pynq
