// End-to-end: the Open Inference Protocol (KServe v2) of the real pynq-inferd binary, over gRPC
// (a C++ client generated from proto/inference/grpc_service.proto: every RPC) and over HTTP/REST
// (curl, Debian's HTTP client): the held-out split through both gives the golden scores, the
// accuracy `pynq-infer eval` reports through the native API, and bad requests get the
// specification's codes while the daemon keeps serving.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "clients/image_io.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"

namespace pynq {
namespace {

namespace inf = ::inference;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kModel[] = "mnist-bnn-tfc";
constexpr int kMaxImagesPerRequest = 256;
constexpr int kMaxBodyBytes = 1 << 20;

// Runs `command`, returns its exit status and appends its standard output to `output`.
int RunCommand(const std::string& command, std::string& output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  return pclose(pipe);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct HttpAnswer {
  int status = 0;
  std::string body;
};

class OipE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string src = testing::SourceDir();
    absl::StatusOr<testing::TestSet> heldout = testing::ReadHeldOutSet("mnist-bnn-tfc");
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    images_ = new clients::GrayImages(std::move(heldout->images));
    labels_ = new std::vector<uint8_t>(std::move(heldout->labels));
    golden_ = new clients::Int32Matrix(std::move(heldout->golden));

    dir_ = new testing::TestTempDir(testing::TestTempDir::Options{.prefix = "oip_e2e_test-"});
    const std::string dir = dir_->path();
    const std::string http_port_file = dir + "/http_port";
    const std::string prometheus_port_file = dir + "/prometheus_port";
    auto daemon = testing::DaemonProcess::Start(
        {.args = {absl::StrCat("--max_images_per_request=", kMaxImagesPerRequest),
                  "--max_queue_delay_us=200", "--model_dir=" + src + "/models/zoo",
                  "--http_listen=127.0.0.1:0", "--http_port_file=" + http_port_file,
                  absl::StrCat("--http_max_body_bytes=", kMaxBodyBytes),
                  "--prometheus_listen=127.0.0.1:0",
                  "--prometheus_port_file=" + prometheus_port_file}});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = daemon->release();
    // The gRPC port is published first; the HTTP and Prometheus ports follow within moments.
    for (int i = 0; i < 500 && !std::filesystem::exists(prometheus_port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(http_port_file)), &http_port_));
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(prometheus_port_file)),
                                 &prometheus_port_));
    channel_ = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials()));
  }

  static void TearDownTestSuite() {
    delete channel_;
    if (daemon_ != nullptr) {
      absl::StatusOr<int> exit_code = daemon_->Stop();
      EXPECT_TRUE(exit_code.ok()) << exit_code.status();
      EXPECT_EQ(exit_code.value_or(-1), 0);
    }
    delete daemon_;
    delete dir_;
    delete images_;
    delete labels_;
    delete golden_;
  }

  void SetUp() override {
    ASSERT_NE(daemon_, nullptr);
    stub_ = inf::GRPCInferenceService::NewStub(*channel_);
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  // A ModelInferRequest for images [first, first + count) as [N, 1, 28, 28] raw bytes.
  static inf::ModelInferRequest RawRequest(size_t first, size_t count) {
    inf::ModelInferRequest request;
    request.set_model_name(kModel);
    auto* input = request.add_inputs();
    input->set_name("images");
    input->set_datatype("UINT8");
    for (int64_t d : {static_cast<int64_t>(count), int64_t{1}, int64_t{28}, int64_t{28}}) {
      input->add_shape(d);
    }
    std::string* raw = request.add_raw_input_contents();
    for (size_t i = first; i < first + count; ++i) {
      absl::Span<const uint8_t> pixels = images_->image(i);
      raw->append(pixels.begin(), pixels.end());
    }
    return request;
  }

  // The scores of a response's "scores" output, row by row.
  static std::vector<std::vector<int32_t>> Rows(const inf::ModelInferResponse& response) {
    std::vector<std::vector<int32_t>> rows;
    const auto& out = response.outputs(0);
    const auto& values = out.contents().int_contents();
    for (int i = 0; i + 10 <= values.size(); i += 10) {
      rows.emplace_back(values.begin() + i, values.begin() + i + 10);
    }
    return rows;
  }

  static std::vector<int32_t> Golden(size_t i) {
    absl::Span<const int32_t> row = golden_->row(i);
    return {row.begin(), row.end()};
  }

  // curl with `args` against the HTTP port; the body is written to a file and read back.
  static HttpAnswer Curl(const std::string& args) {
    const std::string out = dir_->path() + "/curl-out";
    std::filesystem::remove(out);
    std::string code;
    const int status = RunCommand(
        absl::StrCat("curl -sS -o ", out, " -w '%{http_code}' ", args), code);
    EXPECT_EQ(status, 0) << "curl " << args;
    HttpAnswer answer{.body = ReadFile(out)};
    EXPECT_TRUE(absl::SimpleAtoi(code, &answer.status)) << code;
    return answer;
  }

  static std::string Url(const std::string& path) {
    return absl::StrCat("http://127.0.0.1:", http_port_, path);
  }

  // POSTs `body` (through a file, as a user's `curl --data-binary @file` would) to `path`.
  static HttpAnswer Post(const std::string& path, const std::string& body,
                         const std::string& extra = "") {
    const std::string file = dir_->path() + "/request.json";
    std::ofstream(file, std::ios::binary) << body;
    return Curl(absl::StrCat("-X POST -H 'Content-Type: application/json' ", extra,
                             " --data-binary @", file, " ", Url(path)));
  }

  // A JSON inference body for images [first, first + count), "data" as nested [N][784].
  static std::string JsonRequest(size_t first, size_t count, const std::string& outputs = "") {
    std::vector<std::string> rows;
    for (size_t i = first; i < first + count; ++i) {
      absl::Span<const uint8_t> pixels = images_->image(i);
      rows.push_back(absl::StrCat("[", absl::StrJoin(pixels, ","), "]"));
    }
    return absl::StrCat(R"({"id": "e2e", "inputs": [{"name": "images", "datatype": "UINT8", )",
                        R"("shape": [)", count, R"(, 784], "data": [)", absl::StrJoin(rows, ","),
                        "]}]", outputs, "}");
  }

  static testing::DaemonProcess* daemon_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static testing::TestTempDir* dir_;
  static int http_port_;
  static int prometheus_port_;
  static clients::GrayImages* images_;
  static std::vector<uint8_t>* labels_;
  static clients::Int32Matrix* golden_;
  std::unique_ptr<inf::GRPCInferenceService::Stub> stub_;
};

testing::DaemonProcess* OipE2eTest::daemon_ = nullptr;
std::shared_ptr<grpc::Channel>* OipE2eTest::channel_ = nullptr;
testing::TestTempDir* OipE2eTest::dir_ = nullptr;
int OipE2eTest::http_port_ = 0;
int OipE2eTest::prometheus_port_ = 0;
clients::GrayImages* OipE2eTest::images_ = nullptr;
std::vector<uint8_t>* OipE2eTest::labels_ = nullptr;
clients::Int32Matrix* OipE2eTest::golden_ = nullptr;

TEST_F(OipE2eTest, ServerAndModelRpcs) {
  inf::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(Context().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inf::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(Context().get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inf::ServerMetadataResponse server;
  ASSERT_TRUE(stub_->ServerMetadata(Context().get(), {}, &server).ok());
  EXPECT_EQ(server.name(), "pynq-inferd");
  EXPECT_THAT(server.extensions(), ::testing::Contains("classification"));

  inf::ModelReadyRequest model_ready;
  model_ready.set_name(kModel);
  inf::ModelReadyResponse is_ready;
  ASSERT_TRUE(stub_->ModelReady(Context().get(), model_ready, &is_ready).ok());
  EXPECT_TRUE(is_ready.ready());
  model_ready.set_name("no-such-model");
  ASSERT_TRUE(stub_->ModelReady(Context().get(), model_ready, &is_ready).ok());
  EXPECT_FALSE(is_ready.ready());

  inf::ModelMetadataRequest metadata_request;
  metadata_request.set_name(kModel);
  inf::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(Context().get(), metadata_request, &metadata).ok());
  EXPECT_EQ(metadata.name(), kModel);
  ASSERT_EQ(metadata.versions_size(), 1);
  ASSERT_EQ(metadata.inputs_size(), 1);
  EXPECT_EQ(metadata.inputs(0).name(), "images");
  EXPECT_EQ(metadata.inputs(0).datatype(), "UINT8");
  EXPECT_THAT(metadata.inputs(0).shape(), ::testing::ElementsAre(-1, 1, 28, 28));
  EXPECT_EQ(metadata.outputs(0).name(), "scores");
  EXPECT_THAT(metadata.outputs(0).shape(), ::testing::ElementsAre(-1, 10));
  metadata_request.set_version("no-such-version");
  grpc::Status wrong_version = stub_->ModelMetadata(Context().get(), metadata_request, &metadata);
  EXPECT_EQ(wrong_version.error_code(), grpc::StatusCode::NOT_FOUND);

  inf::ModelConfigRequest config_request;
  config_request.set_name(kModel);
  inf::ModelConfigResponse config;
  ASSERT_TRUE(stub_->ModelConfig(Context().get(), config_request, &config).ok());
  EXPECT_EQ(config.config().name(), kModel);
  EXPECT_EQ(config.config().max_batch_size(), kMaxImagesPerRequest);
  EXPECT_EQ(config.config().input(0).data_type(), inf::TYPE_UINT8);
  EXPECT_THAT(config.config().input(0).dims(), ::testing::ElementsAre(1, 28, 28));
  EXPECT_EQ(config.config().output(0).data_type(), inf::TYPE_INT32);
  EXPECT_EQ(config.config().dynamic_batching().max_queue_delay_microseconds(), 200u);
  EXPECT_EQ(config.config().backend(), "cpu");

  inf::ModelInferResponse inferred;
  ASSERT_TRUE(stub_->ModelInfer(Context().get(), RawRequest(0, 3), &inferred).ok());
  inf::ModelStatisticsRequest stats_request;
  stats_request.set_name(kModel);
  inf::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(Context().get(), stats_request, &stats).ok());
  ASSERT_EQ(stats.model_stats_size(), 1);
  EXPECT_GE(stats.model_stats(0).inference_count(), 3u);
  EXPECT_GE(stats.model_stats(0).inference_stats().success().count(), 1u);
  EXPECT_GT(stats.model_stats(0).inference_stats().success().ns(), 0u);
  EXPECT_GT(stats.model_stats(0).last_inference(), 0u);
  ASSERT_TRUE(stub_->ModelStatistics(Context().get(), {}, &stats).ok());
  EXPECT_EQ(stats.model_stats_size(), 6);  // the whole zoo
}

// The held-out split through ModelInfer (raw bytes) and ModelStreamInfer (uint_contents): the
// golden scores, and the accuracy the native API's `pynq-infer eval` reports.
TEST_F(OipE2eTest, HeldOutSplitThroughGrpcMatchesGoldenAndTheNativeApi) {
  constexpr size_t kPerRequest = 50;
  size_t correct = 0;
  for (size_t first = 0; first < images_->count; first += kPerRequest) {
    inf::ModelInferRequest request = RawRequest(first, kPerRequest);
    request.set_id(absl::StrCat(first));
    inf::ModelInferResponse response;
    grpc::Status status = stub_->ModelInfer(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.id(), absl::StrCat(first));
    ASSERT_EQ(response.outputs_size(), 1);
    EXPECT_EQ(response.outputs(0).datatype(), "INT32");
    EXPECT_THAT(response.outputs(0).shape(), ::testing::ElementsAre(kPerRequest, 10));
    const auto rows = Rows(response);
    ASSERT_EQ(rows.size(), kPerRequest);
    for (size_t k = 0; k < kPerRequest; ++k) {
      ASSERT_EQ(rows[k], Golden(first + k)) << "image " << first + k;
      const auto best = std::max_element(rows[k].begin(), rows[k].end()) - rows[k].begin();
      correct += best == (*labels_)[first + k];
    }
  }
  const double grpc_accuracy = 100.0 * static_cast<double>(correct) / images_->count;

  // The same through one stream, pixels as uint_contents, the top class as a classification.
  auto context = Context();
  auto stream = stub_->ModelStreamInfer(context.get());
  std::thread writer([&] {
    for (size_t first = 0; first < images_->count; first += kPerRequest) {
      inf::ModelInferRequest request = RawRequest(first, kPerRequest);
      auto* contents = request.mutable_inputs(0)->mutable_contents();
      for (char c : request.raw_input_contents(0)) contents->add_uint_contents(static_cast<uint8_t>(c));
      request.clear_raw_input_contents();
      request.mutable_inputs(0)->clear_shape();
      for (int64_t d : {static_cast<int64_t>(kPerRequest), int64_t{28}, int64_t{28}}) {
        request.mutable_inputs(0)->add_shape(d);
      }
      auto* output = request.add_outputs();
      output->set_name("scores");
      (*output->mutable_parameters())["classification"].set_int64_param(1);
      request.set_id(absl::StrCat(first));
      if (!stream->Write(request)) return;
    }
    stream->WritesDone();
  });
  size_t stream_correct = 0;
  size_t first = 0;
  inf::ModelStreamInferResponse response;
  while (stream->Read(&response)) {
    ASSERT_EQ(response.error_message(), "");
    EXPECT_EQ(response.infer_response().id(), absl::StrCat(first));  // in request order
    const auto& out = response.infer_response().outputs(0);
    EXPECT_EQ(out.datatype(), "BYTES");
    ASSERT_EQ(out.contents().bytes_contents_size(), static_cast<int>(kPerRequest));
    for (size_t k = 0; k < kPerRequest; ++k) {
      // "score:index:label"
      const std::vector<std::string> parts = absl::StrSplit(out.contents().bytes_contents(k), ':');
      ASSERT_EQ(parts.size(), 3u);
      const std::vector<int32_t> golden = Golden(first + k);
      const auto best = std::max_element(golden.begin(), golden.end()) - golden.begin();
      EXPECT_EQ(parts[0], absl::StrCat(golden[best]));
      EXPECT_EQ(parts[1], absl::StrCat(best));
      EXPECT_EQ(parts[2], absl::StrCat(best));  // mnist labels are the digits
      stream_correct += best == (*labels_)[first + k];
    }
    first += kPerRequest;
  }
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(first, images_->count);
  EXPECT_EQ(stream_correct, correct);

  // The native API's figure, from the real client.
  const char* cli = std::getenv("PYNQ_INFER_CLI");
  ASSERT_NE(cli, nullptr) << "PYNQ_INFER_CLI is not set";
  const std::string src = testing::SourceDir();
  std::string report;
  ASSERT_EQ(RunCommand(absl::StrCat(cli, " eval --server=", daemon_->address(), " --model=", kModel,
                                    " --images=", src, "/models/data/mnist-heldout-images.idx3-ubyte",
                                    " --labels=", src, "/models/data/mnist-heldout-labels.idx1-ubyte"),
                       report),
            0)
      << report;
  EXPECT_THAT(report, HasSubstr(absl::StrFormat("accuracy_pct: %.2f\n", grpc_accuracy)));
  std::printf("held-out accuracy through OIP gRPC: %.2f%% (native eval: the same)\n",
              grpc_accuracy);
}

// The held-out split through curl and the REST API: golden scores, the same accuracy.
TEST_F(OipE2eTest, HeldOutSplitThroughCurlMatchesGolden) {
  constexpr size_t kPerRequest = 200;
  size_t correct = 0;
  for (size_t first = 0; first < images_->count; first += kPerRequest) {
    const HttpAnswer answer = Post(absl::StrCat("/v2/models/", kModel, "/infer"),
                                   JsonRequest(first, kPerRequest));
    ASSERT_EQ(answer.status, 200) << answer.body;
    const Json json = Json::parse(answer.body);
    EXPECT_EQ(json["model_name"], kModel);
    EXPECT_EQ(json["id"], "e2e");
    const Json& out = json["outputs"][0];
    EXPECT_EQ(out["name"], "scores");
    EXPECT_EQ(out["datatype"], "INT32");
    EXPECT_EQ(out["shape"], Json::array({kPerRequest, 10}));
    const std::vector<int32_t> data = out["data"].get<std::vector<int32_t>>();
    ASSERT_EQ(data.size(), kPerRequest * 10);
    for (size_t k = 0; k < kPerRequest; ++k) {
      const std::vector<int32_t> row(data.begin() + 10 * k, data.begin() + 10 * k + 10);
      ASSERT_EQ(row, Golden(first + k)) << "image " << first + k;
      const auto best = std::max_element(row.begin(), row.end()) - row.begin();
      correct += best == (*labels_)[first + k];
    }
  }
  const double accuracy = 100.0 * static_cast<double>(correct) / images_->count;
  EXPECT_NEAR(accuracy, 92.80, 1e-9);  // the native API's, daemon_e2e_test
  std::printf("held-out accuracy through REST (curl): %.2f%%\n", accuracy);

  // The README's example: one digit, top-3 classification.
  const HttpAnswer top3 = Post(
      absl::StrCat("/v2/models/", kModel, "/infer"),
      JsonRequest(0, 1, R"(, "outputs": [{"name": "scores", "parameters": {"classification": 3}}])"));
  ASSERT_EQ(top3.status, 200) << top3.body;
  const Json classes = Json::parse(top3.body)["outputs"][0];
  EXPECT_EQ(classes["datatype"], "BYTES");
  EXPECT_EQ(classes["shape"], Json::array({1, 3}));
  const std::vector<int32_t> golden = Golden(0);
  const auto best = std::max_element(golden.begin(), golden.end()) - golden.begin();
  EXPECT_EQ(classes["data"][0], absl::StrCat(golden[best], ":", best, ":", best));
}

TEST_F(OipE2eTest, RestMetadataHealthAndMetrics) {
  EXPECT_EQ(Curl(Url("/v2/health/live")).status, 200);
  EXPECT_EQ(Curl(Url("/v2/health/ready")).status, 200);
  EXPECT_EQ(Curl(Url(absl::StrCat("/v2/models/", kModel, "/ready"))).status, 200);
  const HttpAnswer server = Curl(Url("/v2"));
  ASSERT_EQ(server.status, 200);
  EXPECT_EQ(Json::parse(server.body)["name"], "pynq-inferd");
  const HttpAnswer metadata = Curl(Url(absl::StrCat("/v2/models/", kModel)));
  ASSERT_EQ(metadata.status, 200);
  EXPECT_EQ(Json::parse(metadata.body)["inputs"][0]["shape"], Json::array({-1, 1, 28, 28}));
  const HttpAnswer config = Curl(Url(absl::StrCat("/v2/models/", kModel, "/config")));
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(Json::parse(config.body)["config"]["max_batch_size"], kMaxImagesPerRequest);
  const HttpAnswer stats = Curl(Url(absl::StrCat("/v2/models/", kModel, "/stats")));
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(Json::parse(stats.body)["model_stats"][0]["name"], kModel);

  // /metrics on the HTTP port: the same families as the Prometheus exporter's own port.
  const auto families = [](const std::string& text) {
    std::set<std::string> names;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::ConsumePrefix(&line, "# TYPE pynq_")) names.insert(std::string(line));
    }
    return names;
  };
  const HttpAnswer metrics = Curl(Url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  const HttpAnswer exporter = Curl(absl::StrCat("http://127.0.0.1:", prometheus_port_, "/metrics"));
  ASSERT_EQ(exporter.status, 200);
  EXPECT_EQ(families(metrics.body), families(exporter.body));
  EXPECT_EQ(families(metrics.body).size(), 13u);
  EXPECT_THAT(metrics.body, HasSubstr("pynq_inference_count_total{model=\"mnist-bnn-tfc\"}"));
}

TEST_F(OipE2eTest, GrpcErrorsHaveTheSpecificationsCodes) {
  struct Case {
    std::string name;
    inf::ModelInferRequest request;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.set_model_name("no-such-model");
    cases.push_back({"unknown model", r, grpc::StatusCode::NOT_FOUND,
                     "model \"no-such-model\" is not loaded"});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 2);
    r.mutable_inputs(0)->set_shape(0, 3);
    cases.push_back({"size mismatch", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "holds 1568 bytes, but shape [3, 1, 28, 28] of UINT8 needs 2352"});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.mutable_inputs(0)->clear_shape();
    for (int64_t d : {1, 28, 7, 4}) r.mutable_inputs(0)->add_shape(d);
    cases.push_back({"bad shape", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "shape [1, 28, 7, 4]; model mnist-bnn-tfc takes one UINT8 input"});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.mutable_inputs(0)->set_datatype("FP32");
    cases.push_back({"datatype", r, grpc::StatusCode::INVALID_ARGUMENT, "datatype \"FP32\""});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.clear_raw_input_contents();
    for (int i = 0; i < 784; ++i) r.mutable_inputs(0)->mutable_contents()->add_uint_contents(i);
    cases.push_back({"outside UINT8", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "uint_contents[256] is 256, outside UINT8's 0..255"});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.mutable_inputs(0)->set_name("pixels");
    cases.push_back({"input name", r, grpc::StatusCode::INVALID_ARGUMENT, "input \"pixels\""});
  }
  cases.push_back({"too many images", RawRequest(0, kMaxImagesPerRequest + 1),
                   grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("holds ", kMaxImagesPerRequest + 1, " images")});
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    (*r.mutable_parameters())["timeout"].set_int64_param(0);
    cases.push_back({"timeout 0", r, grpc::StatusCode::DEADLINE_EXCEEDED, "deadline"});
  }
  {
    inf::ModelInferRequest r = RawRequest(0, 1);
    r.add_outputs()->set_name("logits");
    cases.push_back({"unknown output", r, grpc::StatusCode::INVALID_ARGUMENT, "no output \"logits\""});
  }
  for (const Case& c : cases) {
    inf::ModelInferResponse response;
    grpc::Status status = stub_->ModelInfer(Context().get(), c.request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
    inf::ModelInferResponse good;
    ASSERT_TRUE(stub_->ModelInfer(Context().get(), RawRequest(0, 1), &good).ok()) << c.name;
  }
  // On a stream a bad request is answered inline and the stream goes on.
  auto context = Context();
  auto stream = stub_->ModelStreamInfer(context.get());
  ASSERT_TRUE(stream->Write(cases[1].request));
  ASSERT_TRUE(stream->Write(RawRequest(5, 1)));
  stream->WritesDone();
  inf::ModelStreamInferResponse first, second;
  ASSERT_TRUE(stream->Read(&first));
  EXPECT_THAT(first.error_message(), HasSubstr("INVALID_ARGUMENT"));
  ASSERT_TRUE(stream->Read(&second));
  EXPECT_EQ(second.error_message(), "");
  EXPECT_EQ(Rows(second.infer_response()).at(0), Golden(5));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(OipE2eTest, RestErrorsHaveTheirStatusAndAJsonMessage) {
  const auto error_of = [](const HttpAnswer& a) {
    return Json::parse(a.body)["error"].get<std::string>();
  };
  const std::string infer = absl::StrCat("/v2/models/", kModel, "/infer");
  HttpAnswer a = Post(infer, "{\"inputs\": [");
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(error_of(a), HasSubstr("not valid JSON"));
  a = Post(infer, R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 3],
                                  "data": [1, 2, 3]}]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(error_of(a), HasSubstr("shape [1, 3]"));
  a = Post(infer, R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 2],
                                  "data": [1, 999]}]})");
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(error_of(a), HasSubstr("data element 1 is 999"));
  a = Post("/v2/models/no-such-model/infer", JsonRequest(0, 1));
  EXPECT_EQ(a.status, 404);
  EXPECT_THAT(error_of(a), HasSubstr("\"no-such-model\" is not loaded"));
  a = Curl(Url(infer));
  EXPECT_EQ(a.status, 405);
  EXPECT_THAT(error_of(a), HasSubstr("takes POST, not GET"));
  a = Curl(Url("/v2/no/such/thing"));
  EXPECT_EQ(a.status, 404);
  a = Post(infer, std::string(kMaxBodyBytes + 1, ' '));
  EXPECT_EQ(a.status, 413);
  EXPECT_THAT(error_of(a), HasSubstr("larger than the 1048576 bytes allowed"));
  a = Post(infer, JsonRequest(0, 1, R"(, "parameters": {"timeout": 0})"));
  EXPECT_EQ(a.status, 504);
  EXPECT_THAT(error_of(a), HasSubstr("deadline"));
  // Still serving.
  a = Post(infer, JsonRequest(9, 1));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Json::parse(a.body)["outputs"][0]["data"].get<std::vector<int32_t>>(), Golden(9));
}

}  // namespace
}  // namespace pynq
