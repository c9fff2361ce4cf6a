// TLS and access control end to end: the real pynq-inferd with certificates, keys and tokens
// made at test time by tests/make_test_pki.sh (Debian's openssl), talked to by gRPC C++ clients,
// by the pynq-infer CLI (every subcommand with the same credentials) and, on its HTTP listener
// (the Open Inference Protocol's REST API), by curl (Debian's). Also: the daemon refuses to
// start with secrets others may read and with settings that do not fit together.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "clients/channel_security.h"
#include "clients/idx_file.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/source_dir.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"
#include "tests/support/test_pki.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

constexpr char kModel[] = "mnist-bnn-tfc";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `args` (each quoted) through the shell, with stderr joined to stdout.
CliResult RunProgram(const std::string& program, const std::vector<std::string>& args) {
  std::string command = program;
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  absl::StrAppend(&command, " 2>&1");
  CliResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CliResult RunCli(const std::vector<std::string>& args) {
  const char* cli = std::getenv("PYNQ_INFER_CLI");
  return RunProgram(cli == nullptr ? "false" : cli, args);
}

// What curl got from the daemon's HTTP listener.
struct CurlResult {
  // curl's exit code: 0 when it had an answer, e.g. 35 or 56 for a failed TLS handshake.
  int exit_code = -1;
  // The HTTP status; 0 when there was no answer.
  int status = 0;
  std::string headers;
  std::string body;
  // curl's own messages.
  std::string errors;
};

// The port a daemon's --http_port_file holds, once it is written (the HTTP listener starts after
// the gRPC port, which DaemonProcess waits for); 0 if it is not written within 10 s.
int WaitForPort(const std::string& port_file) {
  for (int i = 0; i < 500 && !std::filesystem::exists(port_file); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int port = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(port_file)), &port)) return 0;
  return port;
}

class SecurityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<testing::TestTempDir> pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_dir_ = new testing::TestTempDir(*std::move(pki));
    pki_ = new std::string(pki_dir_->path());
    auto heldout = testing::ReadHeldOutSet(kModel);
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    image_ = new std::string(reinterpret_cast<const char*>(heldout->images.image(0).data()),
                             heldout->images.image_bytes());
    golden_ = new std::vector<int32_t>(heldout->golden.row(0).begin(),
                                       heldout->golden.row(0).end());

    // A copy, not a link: LoadModel refuses links that lead out of the model directory.
    const std::string models = *pki_ + "/models";
    std::filesystem::create_directory(models);
    std::filesystem::copy_file(
        testing::ShippedModelPath(kModel),
        absl::StrCat(models, "/", kModel, ".pim"));

    // Tokens: TLS, an admin token and an inference token.
    auto tokens = testing::DaemonProcess::Start(
        {.args = {"--tls_cert=" + Pki("server.crt"), "--tls_key=" + Pki("server.key"),
                  "--admin_token_file=" + Pki("admin.token"),
                  "--inference_token_file=" + Pki("inference.token"),
                  "--allow_model_management", "--metrics_log_interval_s=0",
                  "--model_dir=" + models, "--http_listen=127.0.0.1:0",
                  "--http_port_file=" + Pki("tokens.http_port")}});
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = tokens->release();
    tokens_http_port_ = WaitForPort(Pki("tokens.http_port"));
    ASSERT_GT(tokens_http_port_, 0);
    // Client certificates: mTLS, the admin named by a subject alternative name.
    auto mtls = testing::DaemonProcess::Start(
        {.args = {"--tls_cert=" + Pki("server.crt"), "--tls_key=" + Pki("server.key"),
                  "--tls_client_ca=" + Pki("ca.crt"), "--admin_client_identities=ops@pynq.test",
                  "--allow_model_management", "--metrics_log_interval_s=0",
                  "--model_dir=" + models, "--http_listen=127.0.0.1:0",
                  "--http_port_file=" + Pki("mtls.http_port")}});
    ASSERT_TRUE(mtls.ok()) << mtls.status();
    mtls_ = mtls->release();
    mtls_http_port_ = WaitForPort(Pki("mtls.http_port"));
    ASSERT_GT(mtls_http_port_, 0);
  }

  static void TearDownTestSuite() {
    for (testing::DaemonProcess* daemon : {tokens_, mtls_}) {
      if (daemon == nullptr) continue;
      absl::StatusOr<int> exit_code = daemon->Stop();
      EXPECT_EQ(exit_code.value_or(-1), 0);
      delete daemon;
    }
    delete pki_;
    delete pki_dir_;
    delete image_;
    delete golden_;
  }

  static std::string Pki(const std::string& name) { return *pki_ + "/" + name; }

  // A channel to `daemon` with `security`; the test fails if the settings are refused.
  static std::shared_ptr<grpc::Channel> Channel(const testing::DaemonProcess& daemon,
                                                const clients::ChannelSecurity& security) {
    auto channel = clients::CreateSecureChannel(daemon.address(), security);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  static clients::ChannelSecurity Tls(const std::string& token = "") {
    return {.tls_ca_file = Pki("ca.crt"), .token_file = token.empty() ? "" : Pki(token)};
  }
  static clients::ChannelSecurity Mtls(const std::string& who) {
    return {.tls_ca_file = Pki("ca.crt"),
            .tls_cert_file = who.empty() ? "" : Pki(who + ".crt"),
            .tls_key_file = who.empty() ? "" : Pki(who + ".key")};
  }

  static grpc::Status Classify(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ClassifyRequest request;
    request.set_model(kModel);
    request.add_images(*image_);
    v1::ClassifyResponse response;
    grpc::Status status = stub->Classify(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.results(0).scores_size(), 10);
    }
    return status;
  }

  static grpc::Status ClassifyStream(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = stub->ClassifyStream(&context);
    v1::ClassifyRequest request;
    request.set_model(kModel);
    request.add_images(*image_);
    stream->Write(request);
    stream->WritesDone();
    v1::ClassifyResponse response;
    int responses = 0;
    while (stream->Read(&response)) ++responses;
    grpc::Status status = stream->Finish();
    if (status.ok()) {
      EXPECT_EQ(responses, 1);
    }
    return status;
  }

  static grpc::Status ListModels(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListModelsResponse response;
    return stub->ListModels(&context, v1::ListModelsRequest(), &response);
  }

  static grpc::Status LoadModel(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::LoadModelRequest request;
    request.set_file(absl::StrCat(kModel, ".pim"));
    v1::LoadModelResponse response;
    return stub->LoadModel(&context, request, &response);
  }

  static grpc::Status UnloadModel(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::UnloadModelRequest request;
    request.set_model(kModel);
    v1::UnloadModelResponse response;
    return stub->UnloadModel(&context, request, &response);
  }

  // curl with `args` (e.g. "--cacert", CA, URL); the answer's headers and body go through files.
  static CurlResult Curl(std::vector<std::string> args) {
    const std::string headers = Pki("curl.headers");
    const std::string body = Pki("curl.body");
    std::filesystem::remove(headers);
    std::filesystem::remove(body);
    args.insert(args.begin(), {"--silent", "--show-error", "--max-time", "20", "--dump-header",
                               headers, "--output", body, "--write-out", "status=%{http_code}"});
    const CliResult run = RunProgram("curl", args);
    CurlResult result{.exit_code = run.exit_code,
                      .headers = ReadFile(headers),
                      .body = ReadFile(body),
                      .errors = run.output};
    // stdout (the status) and stderr were joined; the status is what follows the last "status=".
    if (const size_t at = run.output.rfind("status="); at != std::string::npos) {
      if (!absl::SimpleAtoi(run.output.substr(at + 7, 3), &result.status)) result.status = -1;
      result.errors.erase(at);
    }
    return result;
  }

  static std::string HttpsUrl(int port, const std::string& path) {
    return absl::StrCat("https://127.0.0.1:", port, path);
  }

  static std::string BearerHeader(const std::string& token_file) {
    return absl::StrCat("Authorization: Bearer ",
                        absl::StripAsciiWhitespace(ReadFile(Pki(token_file))));
  }

  // POSTs an Open Inference Protocol JSON request for the test image to the model's infer
  // endpoint with curl's `args` (credentials), over HTTPS trusting the test CA.
  static CurlResult RestInfer(int port, std::vector<std::string> args) {
    const std::string request = Pki("infer.json");
    std::vector<int> pixels;
    for (const unsigned char pixel : *image_) pixels.push_back(pixel);
    std::ofstream(request) << absl::StrCat(
        R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 1, 28, 28], )",
        R"("data": [)", absl::StrJoin(pixels, ","), "]}]}");
    args.insert(args.end(),
                {"--cacert", Pki("ca.crt"), "-H", "Content-Type: application/json",
                 "--data-binary", "@" + request,
                 HttpsUrl(port, absl::StrCat("/v2/models/", kModel, "/infer"))});
    return Curl(std::move(args));
  }

  // The scores of a successful RestInfer(), or an empty vector (and a test failure).
  static std::vector<int32_t> ScoresOf(const CurlResult& answer) {
    EXPECT_EQ(answer.status, 200) << answer.body << answer.errors;
    if (answer.status != 200) return {};
    const nlohmann::json json = nlohmann::json::parse(answer.body);
    EXPECT_EQ(json["outputs"][0]["shape"], nlohmann::json::array({1, 10}));
    return json["outputs"][0]["data"].get<std::vector<int32_t>>();
  }

  static std::string ErrorOf(const CurlResult& answer) {
    const nlohmann::json json = nlohmann::json::parse(answer.body, nullptr, false);
    return json.is_object() && json.contains("error") ? json["error"].get<std::string>()
                                                      : "(no JSON error) " + answer.body;
  }

  // Starts the daemon with `args` (which must make it refuse to start) and returns its log.
  static std::string StartRefused(const std::vector<std::string>& args) {
    const std::string log = *pki_ + "/refused.log";
    auto daemon =
        testing::DaemonProcess::Start({.args = args, .log_path = log, .only_models = {kModel}});
    EXPECT_FALSE(daemon.ok()) << "the daemon started with " << absl::StrJoin(args, " ");
    if (daemon.ok()) return "";
    EXPECT_THAT(std::string(daemon.status().message()), HasSubstr("exited with code 1"));
    return ReadFile(log);
  }

  static testing::TestTempDir* pki_dir_;
  static std::string* pki_;
  static std::string* image_;
  // The golden scores of the test image (models/golden/).
  static std::vector<int32_t>* golden_;
  static testing::DaemonProcess* tokens_;
  static testing::DaemonProcess* mtls_;
  static int tokens_http_port_;
  static int mtls_http_port_;
};

testing::TestTempDir* SecurityE2eTest::pki_dir_ = nullptr;
std::string* SecurityE2eTest::pki_ = nullptr;
std::string* SecurityE2eTest::image_ = nullptr;
std::vector<int32_t>* SecurityE2eTest::golden_ = nullptr;
int SecurityE2eTest::tokens_http_port_ = 0;
int SecurityE2eTest::mtls_http_port_ = 0;
testing::DaemonProcess* SecurityE2eTest::tokens_ = nullptr;
testing::DaemonProcess* SecurityE2eTest::mtls_ = nullptr;

TEST_F(SecurityE2eTest, TlsServesAndPlaintextToTheTlsPortFails) {
  EXPECT_TRUE(ListModels(Channel(*tokens_, Tls())).ok());
  const grpc::Status plaintext = ListModels(Channel(*tokens_, {}));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  // The system's CAs do not know the test CA.
  const grpc::Status untrusted = ListModels(Channel(*tokens_, {.tls = true}));
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The certificate names localhost and 127.0.0.1, not this name.
  const grpc::Status wrong_name =
      ListModels(Channel(*tokens_, {.tls_ca_file = Pki("ca.crt"), .tls_server_name = "board"}));
  EXPECT_EQ(wrong_name.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityE2eTest, HealthAndReflectionNeedNoToken) {
  const auto channel = Channel(*tokens_, Tls());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext reflection_context;
  auto stream = reflection->ServerReflectionInfo(&reflection_context);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse services;
  ASSERT_TRUE(stream->Read(&services));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_GE(services.list_services_response().service_size(), 1);
}

TEST_F(SecurityE2eTest, InferenceNeedsTheInferenceOrTheAdminToken) {
  const grpc::Status none = Classify(Channel(*tokens_, Tls()));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.error_message(), HasSubstr("Classify needs a bearer token"));
  EXPECT_EQ(ClassifyStream(Channel(*tokens_, Tls())).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Classify(Channel(*tokens_, Tls("inference.token"))).ok());
  EXPECT_TRUE(ClassifyStream(Channel(*tokens_, Tls("inference.token"))).ok());
  EXPECT_TRUE(Classify(Channel(*tokens_, Tls("admin.token"))).ok());
  // A token of another daemon.
  std::ofstream(Pki("other.token")) << "0123456789abcdef0123456789abcdef\n";
  const grpc::Status unknown = Classify(Channel(*tokens_, Tls("other.token")));
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unknown.error_message(), HasSubstr("not one this daemon accepts"));
  // Listing needs no token.
  EXPECT_TRUE(ListModels(Channel(*tokens_, Tls())).ok());
}

TEST_F(SecurityE2eTest, ManagementNeedsTheAdminToken) {
  const grpc::Status none = LoadModel(Channel(*tokens_, Tls()));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.error_message(), HasSubstr("LoadModel needs an admin credential"));
  EXPECT_EQ(UnloadModel(Channel(*tokens_, Tls())).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status inference = LoadModel(Channel(*tokens_, Tls("inference.token")));
  EXPECT_EQ(inference.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(inference.error_message(), HasSubstr("allows inference only"));
  EXPECT_EQ(UnloadModel(Channel(*tokens_, Tls("inference.token"))).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const auto admin = Channel(*tokens_, Tls("admin.token"));
  EXPECT_TRUE(LoadModel(admin).ok());
  EXPECT_TRUE(UnloadModel(admin).ok());
  EXPECT_TRUE(LoadModel(admin).ok());
}

TEST_F(SecurityE2eTest, MtlsRefusesHandshakesWithoutATrustedCertificate) {
  const grpc::Status none = ListModels(Channel(*mtls_, Mtls("")));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAVAILABLE) << none.error_message();
  const grpc::Status rogue = ListModels(Channel(*mtls_, Mtls("rogue")));
  EXPECT_EQ(rogue.error_code(), grpc::StatusCode::UNAVAILABLE) << rogue.error_message();
}

TEST_F(SecurityE2eTest, MtlsAdminIsNamedByItsCertificate) {
  const auto reader = Channel(*mtls_, Mtls("reader"));
  EXPECT_TRUE(Classify(reader).ok());
  const grpc::Status denied = LoadModel(reader);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), HasSubstr("client certificate (reader) is not an admin's"));
  const auto admin = Channel(*mtls_, Mtls("admin"));
  EXPECT_TRUE(LoadModel(admin).ok());
  EXPECT_TRUE(Classify(admin).ok());
}

TEST_F(SecurityE2eTest, EveryCliCommandTakesTheCredentials) {
  const std::string server = "--server=" + tokens_->address();
  const std::string ca = "--tls_ca=" + Pki("ca.crt");
  const std::string admin = "--token_file=" + Pki("admin.token");
  const std::string inference = "--token_file=" + Pki("inference.token");
  const std::string images =
      "--images=" + testing::HeldOutImagesPath();
  const std::string labels =
      "--labels=" + testing::HeldOutLabelsPath();
  const std::string pgm = Pki("digit.pgm");
  std::ofstream(pgm) << "P5\n28 28\n255\n" << *image_;

  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"models", server, ca, inference}, kModel},
      {{"metrics", server, ca, inference}, "model mnist-bnn-tfc"},
      {{"health", server, ca}, "SERVING"},
      {{"classify", server, ca, inference, pgm}, "class="},
      {{"eval", server, ca, inference, images, labels, "--limit=100"}, "accuracy_pct:"},
      {{"bench", server, ca, inference, "--concurrency=2", "--warmup_ms=100", "--measure_ms=300",
        "--max_windows=1"},
       "images/s"},
      {{"load", server, ca, admin, absl::StrCat(kModel, ".pim")}, "loaded mnist-bnn-tfc"},
      {{"unload", server, ca, admin, kModel}, "unloaded mnist-bnn-tfc"},
      {{"load", server, ca, admin, absl::StrCat(kModel, ".pim")}, "loaded mnist-bnn-tfc"},
  };
  for (const Case& c : cases) {
    const CliResult result = RunCli(c.args);
    EXPECT_EQ(result.exit_code, 0) << absl::StrJoin(c.args, " ") << "\n" << result.output;
    EXPECT_THAT(result.output, HasSubstr(c.expect)) << c.args.front();
  }

  const CliResult no_token = RunCli({"classify", server, ca, pgm});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.output, HasSubstr("UNAUTHENTICATED"));
  const CliResult eval_no_token = RunCli({"eval", server, ca, images, labels, "--limit=10"});
  EXPECT_EQ(eval_no_token.exit_code, 1);
  EXPECT_THAT(eval_no_token.output, HasSubstr("UNAUTHENTICATED"));
  const CliResult not_admin = RunCli({"unload", server, ca, inference, kModel});
  EXPECT_EQ(not_admin.exit_code, 1);
  EXPECT_THAT(not_admin.output, HasSubstr("PERMISSION_DENIED"));
  const CliResult plaintext = RunCli({"models", server, "--timeout_ms=2000"});
  EXPECT_EQ(plaintext.exit_code, 1);
  EXPECT_THAT(plaintext.output, HasSubstr("UNAVAILABLE"));
  // A token never goes out in clear text: bad usage, before anything is sent.
  const CliResult clear = RunCli({"models", server, admin});
  EXPECT_EQ(clear.exit_code, 2);
  EXPECT_THAT(clear.output, HasSubstr("--token_file needs TLS"));

  // mTLS: the CLI's client certificate.
  const std::string mtls_server = "--server=" + mtls_->address();
  const CliResult mtls_load =
      RunCli({"load", mtls_server, ca, "--tls_cert=" + Pki("admin.crt"),
              "--tls_key=" + Pki("admin.key"), absl::StrCat(kModel, ".pim")});
  EXPECT_EQ(mtls_load.exit_code, 0) << mtls_load.output;
  const CliResult mtls_reader =
      RunCli({"load", mtls_server, ca, "--tls_cert=" + Pki("reader.crt"),
              "--tls_key=" + Pki("reader.key"), absl::StrCat(kModel, ".pim")});
  EXPECT_EQ(mtls_reader.exit_code, 1);
  EXPECT_THAT(mtls_reader.output, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(SecurityE2eTest, HttpListenerServesHttpsOnlyWithTheDaemonsCertificate) {
  const CurlResult https =
      Curl({"--cacert", Pki("ca.crt"), HttpsUrl(tokens_http_port_, "/v2/health/ready")});
  EXPECT_EQ(https.exit_code, 0) << https.errors;
  EXPECT_EQ(https.status, 200) << https.body;
  // The name the certificate carries besides 127.0.0.1.
  const CurlResult by_name = Curl({"--cacert", Pki("ca.crt"), "--resolve",
                                   absl::StrCat("localhost:", tokens_http_port_, ":127.0.0.1"),
                                   absl::StrCat("https://localhost:", tokens_http_port_, "/v2")});
  EXPECT_EQ(by_name.status, 200) << by_name.errors;
  // Plain HTTP to the TLS port gets no answer.
  const CurlResult plain =
      Curl({absl::StrCat("http://127.0.0.1:", tokens_http_port_, "/v2/health/ready")});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_EQ(plain.status, 0) << plain.body;
  // The system's CAs do not know the test CA: CURLE_PEER_FAILED_VERIFICATION.
  const CurlResult untrusted = Curl({HttpsUrl(tokens_http_port_, "/v2/health/ready")});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.errors;
  // TLS 1.2 (the oldest version offered) and 1.3.
  for (const char* version : {"1.2", "1.3"}) {
    const CurlResult answer =
        Curl({"--cacert", Pki("ca.crt"), absl::StrCat("--tlsv", version), "--tls-max", version,
              HttpsUrl(tokens_http_port_, "/v2/health/live")});
    EXPECT_EQ(answer.status, 200) << version << ": " << answer.errors;
  }
}

TEST_F(SecurityE2eTest, RestInferenceNeedsTheInferenceOrTheAdminToken) {
  const CurlResult none = RestInfer(tokens_http_port_, {});
  EXPECT_EQ(none.status, 401) << none.body << none.errors;
  EXPECT_THAT(none.headers, HasSubstr(R"(WWW-Authenticate: Bearer realm="pynq-inferd")"));
  EXPECT_THAT(ErrorOf(none), HasSubstr(absl::StrCat("POST /v2/models/", kModel,
                                                    "/infer needs a bearer token")));
  std::ofstream(Pki("other.token")) << "0123456789abcdef0123456789abcdef\n";
  const CurlResult unknown = RestInfer(tokens_http_port_, {"-H", BearerHeader("other.token")});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_THAT(unknown.headers, HasSubstr(R"(error="invalid_token")"));
  EXPECT_THAT(ErrorOf(unknown), HasSubstr("not one this daemon accepts"));

  EXPECT_EQ(ScoresOf(RestInfer(tokens_http_port_, {"-H", BearerHeader("inference.token")})),
            *golden_);
  EXPECT_EQ(ScoresOf(RestInfer(tokens_http_port_, {"-H", BearerHeader("admin.token")})),
            *golden_);
  // A refusal does not stop the connection's successors: the daemon goes on serving.
  EXPECT_EQ(RestInfer(tokens_http_port_, {}).status, 401);
  EXPECT_EQ(ScoresOf(RestInfer(tokens_http_port_, {"-H", BearerHeader("inference.token")})),
            *golden_);
}

TEST_F(SecurityE2eTest, RestHealthMetadataAndMetricsNeedNoToken) {
  for (const std::string path :
       {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/mnist-bnn-tfc",
        "/v2/models/mnist-bnn-tfc/ready", "/v2/models/mnist-bnn-tfc/config",
        "/v2/models/mnist-bnn-tfc/stats", "/metrics"}) {
    const CurlResult answer = Curl({"--cacert", Pki("ca.crt"), HttpsUrl(tokens_http_port_, path)});
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body << answer.errors;
  }
}

TEST_F(SecurityE2eTest, RestOverMtlsNeedsATrustedClientCertificate) {
  const std::string live = HttpsUrl(mtls_http_port_, "/v2/health/live");
  // The handshake fails: no answer at all, not even to a health check.
  const CurlResult none = Curl({"--cacert", Pki("ca.crt"), live});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_EQ(none.status, 0) << none.body;
  const CurlResult rogue = Curl({"--cacert", Pki("ca.crt"), "--cert", Pki("rogue.crt"), "--key",
                                 Pki("rogue.key"), live});
  EXPECT_NE(rogue.exit_code, 0);
  EXPECT_EQ(rogue.status, 0) << rogue.body;
  const CurlResult reader = Curl({"--cacert", Pki("ca.crt"), "--cert", Pki("reader.crt"), "--key",
                                  Pki("reader.key"), live});
  EXPECT_EQ(reader.exit_code, 0) << reader.errors;
  EXPECT_EQ(reader.status, 200);
  // Without --inference_token_file a verified client certificate is all inference needs.
  EXPECT_EQ(ScoresOf(RestInfer(mtls_http_port_,
                               {"--cert", Pki("reader.crt"), "--key", Pki("reader.key")})),
            *golden_);
}

TEST_F(SecurityE2eTest, ATokenFileOthersMayReadStopsTheDaemon) {
  for (const mode_t mode : {0644, 0640}) {
    const std::string token = Pki("loose.token");
    std::filesystem::copy_file(Pki("admin.token"), token,
                               std::filesystem::copy_options::overwrite_existing);
    chmod(token.c_str(), mode);
    const std::string log =
        StartRefused({"--tls_cert=" + Pki("server.crt"), "--tls_key=" + Pki("server.key"),
                      "--admin_token_file=" + token});
    EXPECT_THAT(log, HasSubstr("readable or writable by its group or by others"));
    EXPECT_THAT(log, HasSubstr("chmod 600 " + token));
  }
}

TEST_F(SecurityE2eTest, SettingsThatDoNotFitStopTheDaemon) {
  const std::string cert = "--tls_cert=" + Pki("server.crt");
  const std::string key = "--tls_key=" + Pki("server.key");
  EXPECT_THAT(StartRefused({"--admin_token_file=" + Pki("admin.token")}), HasSubstr("need TLS"));
  EXPECT_THAT(StartRefused({cert, "--tls_key=" + Pki("admin.key")}),
              HasSubstr("does not belong to the certificate"));
  EXPECT_THAT(StartRefused({cert, key, "--admin_client_identities=ops-admin"}),
              HasSubstr("needs --tls_client_ca"));
  EXPECT_THAT(StartRefused({cert}), HasSubstr("go together"));
  EXPECT_THAT(StartRefused({cert, key, "--prometheus_listen=127.0.0.1:0"}),
              HasSubstr("every listener must use TLS"));
}

}  // namespace
}  // namespace pynq
