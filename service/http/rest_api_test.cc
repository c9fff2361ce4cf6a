#include "service/http/rest_api.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "absl/strings/escaping.h"
#include "service/security/access_policy.h"
#include "service/submit.h"
#include "tests/support/picture_writer.h"
#include "tests/support/source_dir.h"

namespace pynq::service::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int kPixels = 8;

// The REST API over a real registry serving one small model on the CPU backend.
class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rest_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 5, .input = {1, 4, 2}, .num_classes = 4});
    spec.name = "tiny";
    spec.version = "3";
    spec.labels = {"zero", "one", "two", "three"};
    const std::vector<uint8_t> file = accel::SerializeModel(spec);
    std::ofstream(dir_ + "/tiny.pim", std::ios::binary)
        .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    auto registry = ModelRegistry::Create(
        {.model_dir = dir_,
         .batcher = {.max_batch_size = 4, .preferred_batch_sizes = {2, 4}}});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    api_ = std::make_unique<RestApi>(
        registry_.get(), RestApi::Options{.limits = {.max_images_per_request = 8},
                                          .metrics_text = [] { return std::string("m 1\n"); }});
  }

  void TearDown() override {
    api_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse Call(std::string method, std::string path, std::string_view body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    body_ = std::string(body);
    return api_->Handle({.method = std::move(method),
                         .path = std::move(path),
                         .headers = std::move(headers),
                         .body = body_});
  }

  // The scores of `images` through the native path (SubmitImages), for comparison.
  std::vector<int32_t> NativeScores(const std::vector<std::string>& images,
                                    const std::string& model = "tiny") {
    std::promise<std::vector<int32_t>> scores;
    std::vector<std::string_view> views(images.begin(), images.end());
    absl::Status queued = SubmitImages(
        registry_->Find(model), views, {},
        [&scores](const InferenceRequest& done, const ServedModel&) {
          std::vector<int32_t> all;
          for (size_t i = 0; i < done.image_count(); ++i) {
            all.insert(all.end(), done.scores(i).begin(), done.scores(i).end());
          }
          scores.set_value(all);
        },
        [](const absl::Status&) {});
    EXPECT_TRUE(queued.ok()) << queued;
    return scores.get_future().get();
  }

  static std::string DataJson(const std::vector<std::string>& images) {
    std::vector<int> values;
    for (const std::string& image : images) {
      for (char c : image) values.push_back(static_cast<uint8_t>(c));
    }
    return absl::StrCat("[", absl::StrJoin(values, ","), "]");
  }

  std::string dir_;
  std::string body_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<RestApi> api_;
};

std::vector<std::string> TwoImages() {
  return {std::string("\x00\xff\x10\xf0\x00\xff\x80\x7f", kPixels),
          std::string("\xff\x00\xff\x00\x01\x02\x03\xfe", kPixels)};
}

TEST_F(RestApiTest, HealthAndServerMetadata) {
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Call("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(Call("HEAD", "/v2/health/ready").status, 200);
  const HttpResponse metadata = Call("GET", "/v2");
  ASSERT_EQ(metadata.status, 200);
  const Json json = Json::parse(metadata.body);
  EXPECT_EQ(json["name"], "pynq-inferd");
  EXPECT_FALSE(json["version"].get<std::string>().empty());
  EXPECT_THAT(json["extensions"].get<std::vector<std::string>>(),
              ::testing::Contains("binary_tensor_data"));
  api_->BeginShutdown();
  const HttpResponse draining = Call("GET", "/v2/health/ready");
  EXPECT_EQ(draining.status, 400);
  EXPECT_THAT(draining.body, HasSubstr("shutting down"));
  EXPECT_EQ(Call("GET", "/v2/models/tiny/ready").status, 400);
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
}

TEST_F(RestApiTest, ModelMetadataConfigAndReadiness) {
  EXPECT_EQ(Call("GET", "/v2/models/tiny/ready").status, 200);
  EXPECT_EQ(Call("GET", "/v2/models/tiny/versions/3/ready").status, 200);
  EXPECT_EQ(Call("GET", "/v2/models/tiny/versions/4/ready").status, 400);
  const HttpResponse unknown = Call("GET", "/v2/models/nope/ready");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(Json::parse(unknown.body)["error"].get<std::string>(),
              HasSubstr("\"nope\" is not loaded"));

  const HttpResponse metadata = Call("GET", "/v2/models/tiny");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  const Json m = Json::parse(metadata.body);
  EXPECT_EQ(m["name"], "tiny");
  EXPECT_EQ(m["versions"], Json::array({"3"}));
  EXPECT_EQ(m["platform"], "pynq_infer");
  EXPECT_EQ(m["inputs"][0], Json::parse(R"({"name": "images", "datatype": "UINT8",
                                            "shape": [-1, 1, 4, 2]})"));
  EXPECT_EQ(m["outputs"][0], Json::parse(R"({"name": "scores", "datatype": "INT32",
                                             "shape": [-1, 4]})"));

  const HttpResponse config = Call("GET", "/v2/models/tiny/config");
  ASSERT_EQ(config.status, 200) << config.body;
  const Json c = Json::parse(config.body)["config"];
  EXPECT_EQ(c["name"], "tiny");
  EXPECT_EQ(c["backend"], "cpu");
  EXPECT_EQ(c["max_batch_size"], 8);
  EXPECT_EQ(c["input"][0]["data_type"], "TYPE_UINT8");
  EXPECT_EQ(c["input"][0]["format"], "FORMAT_NCHW");
  EXPECT_EQ(c["input"][0]["dims"], Json::array({1, 4, 2}));
  EXPECT_EQ(c["output"][0]["data_type"], "TYPE_INT32");
  EXPECT_EQ(c["output"][0]["dims"], Json::array({4}));
  EXPECT_EQ(c["dynamic_batching"]["preferred_batch_size"], Json::array({2, 4}));
  EXPECT_EQ(c["dynamic_batching"]["max_queue_delay_microseconds"], 500);
  EXPECT_EQ(c["instance_group"][0]["kind"], "KIND_CPU");
  EXPECT_EQ(c["instance_group"][0]["count"], 1);
  EXPECT_EQ(c["parameters"]["labels"]["string_value"], "zero,one,two,three");
  EXPECT_EQ(c["parameters"]["max_dispatch_batch_size"]["string_value"], "4");

  const HttpResponse missing = Call("GET", "/v2/models/nope/config");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(Json::parse(missing.body)["error"].get<std::string>(),
              HasSubstr("model \"nope\" is not loaded; loaded models: tiny"));
  EXPECT_EQ(Call("GET", "/v2/models/tiny/versions/9").status, 404);
}

TEST_F(RestApiTest, InferMatchesTheNativePath) {
  const std::vector<std::string> images = TwoImages();
  const HttpResponse response = Call(
      "POST", "/v2/models/tiny/infer",
      absl::StrCat(R"({"id": "q", "inputs": [{"name": "images", "datatype": "UINT8",
                   "shape": [2, 1, 4, 2], "data": )",
                   DataJson(images), "}]}"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  const Json json = Json::parse(response.body);
  EXPECT_EQ(json["model_name"], "tiny");
  EXPECT_EQ(json["model_version"], "3");
  EXPECT_EQ(json["id"], "q");
  ASSERT_EQ(json["outputs"].size(), 1u);
  EXPECT_EQ(json["outputs"][0]["name"], "scores");
  EXPECT_EQ(json["outputs"][0]["datatype"], "INT32");
  EXPECT_EQ(json["outputs"][0]["shape"], Json::array({2, 4}));
  EXPECT_EQ(json["outputs"][0]["data"].get<std::vector<int32_t>>(), NativeScores(images));
}

TEST_F(RestApiTest, ClassificationAndBinaryData) {
  const std::vector<std::string> images = TwoImages();
  const std::string json = R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [2, 8],
                                "parameters": {"binary_data_size": 16}}],
                               "outputs": [{"name": "scores",
                                            "parameters": {"classification": 2}}]})";
  const HttpResponse response =
      Call("POST", "/v2/models/tiny/infer", json + images[0] + images[1],
           {{"Inference-Header-Content-Length", std::to_string(json.size())}});
  ASSERT_EQ(response.status, 200) << response.body;
  const Json out = Json::parse(response.body)["outputs"][0];
  EXPECT_EQ(out["datatype"], "BYTES");
  EXPECT_EQ(out["shape"], Json::array({2, 2}));
  const std::vector<int32_t> scores = NativeScores(images);
  const std::vector<std::string> entries = out["data"].get<std::vector<std::string>>();
  ASSERT_EQ(entries.size(), 4u);
  for (size_t i = 0; i < 2; ++i) {
    const std::vector<int32_t> row(scores.begin() + 4 * i, scores.begin() + 4 * i + 4);
    const int32_t best = *std::max_element(row.begin(), row.end());
    EXPECT_THAT(entries[2 * i], ::testing::StartsWith(absl::StrCat(best, ":")));
  }

  // Scores as binary data: the JSON, then 2 x 4 little-endian int32.
  const std::string binary_out = R"({"inputs": [{"name": "images", "datatype": "UINT8",
      "shape": [2, 8], "parameters": {"binary_data_size": 16}}],
      "outputs": [{"name": "scores", "parameters": {"binary_data": true}}]})";
  const HttpResponse raw =
      Call("POST", "/v2/models/tiny/infer", binary_out + images[0] + images[1],
           {{"inference-header-content-length", std::to_string(binary_out.size())}});
  ASSERT_EQ(raw.status, 200) << raw.body;
  EXPECT_EQ(raw.content_type, "application/octet-stream");
  ASSERT_EQ(raw.headers.size(), 1u);
  const size_t json_bytes = std::stoul(raw.headers[0].second);
  const Json head = Json::parse(raw.body.substr(0, json_bytes));
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 32);
  ASSERT_EQ(raw.body.size(), json_bytes + 32);
  std::vector<int32_t> decoded(8);
  std::memcpy(decoded.data(), raw.body.data() + json_bytes, 32);
  EXPECT_EQ(decoded, scores);
}

TEST_F(RestApiTest, ErrorsHaveTheirStatusAndAJsonMessage) {
  const auto expect_error = [&](const HttpResponse& r, int status, std::string_view text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_THAT(Json::parse(r.body)["error"].get<std::string>(), HasSubstr(text));
  };
  expect_error(Call("POST", "/v2/models/tiny/infer", "{not json"), 400, "not valid JSON");
  expect_error(Call("POST", "/v2/models/tiny/infer",
                    R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 3],
                                    "data": [1, 2, 3]}]})"),
               400, "shape [1, 3]");
  expect_error(Call("POST", "/v2/models/nope/infer", "{not json"), 404, "\"nope\" is not loaded");
  expect_error(Call("GET", "/v2/models/tiny/infer"), 405, "takes POST, not GET");
  expect_error(Call("POST", "/v2/health/live"), 405, "takes GET");
  expect_error(Call("GET", "/v3/models"), 404, "no endpoint at /v3/models");
  expect_error(Call("POST", "/v2/models/tiny/infer", "{}",
                    {{"Inference-Header-Content-Length", "99"}}),
               400, "Inference-Header-Content-Length");
  // The refusals of a served model are counted as invalid requests.
  const Json stats = Json::parse(Call("GET", "/v2/models/tiny/stats").body);
  EXPECT_EQ(stats["model_stats"][0]["inference_stats"]["fail"]["count"], 3);
  EXPECT_EQ(Call("GET", "/metrics").body, "m 1\n");
}

TEST_F(RestApiTest, StatisticsCountWhatWasServed) {
  const std::vector<std::string> images = TwoImages();
  const std::string body = absl::StrCat(
      R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [2, 8], "data": )",
      DataJson(images), "}]}");
  ASSERT_EQ(Call("POST", "/v2/models/tiny/infer", body).status, 200);
  ASSERT_EQ(Call("POST", "/v2/models/tiny/infer", body).status, 200);
  const HttpResponse response = Call("GET", "/v2/models/tiny/stats");
  ASSERT_EQ(response.status, 200);
  const Json s = Json::parse(response.body)["model_stats"][0];
  EXPECT_EQ(s["name"], "tiny");
  EXPECT_EQ(s["version"], "3");
  EXPECT_EQ(s["inference_count"], 4);
  EXPECT_GE(s["execution_count"].get<int>(), 2);
  EXPECT_GT(s["last_inference"].get<uint64_t>(), 1'600'000'000'000u);
  EXPECT_EQ(s["inference_stats"]["success"]["count"], 2);
  EXPECT_GT(s["inference_stats"]["success"]["ns"].get<uint64_t>(), 0u);
  EXPECT_EQ(s["inference_stats"]["queue"]["count"], 4);
  EXPECT_EQ(s["inference_stats"]["compute_infer"]["count"], s["execution_count"]);
  EXPECT_EQ(s["inference_stats"]["fail"], Json::parse(R"({"count": 0, "ns": 0})"));
  const Json all = Json::parse(Call("GET", "/v2/models/stats").body);
  EXPECT_EQ(all["model_stats"].size(), 1u);
}

}  // namespace
}  // namespace pynq::service::http

namespace pynq::service::http {
namespace {

TEST(HttpStatusTest, ErrorCodesMapToTheirHttpStatus) {
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);  // queue full, shutting down
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInternal), 500);
  const HttpResponse queue_full = JsonError(absl::UnavailableError("queue is \"full\""));
  EXPECT_EQ(queue_full.status, 503);
  EXPECT_EQ(queue_full.body, R"({"error":"queue is \"full\""})");
}

constexpr char kAdminToken[] = "admin-0123456789abcdef0123456789";
constexpr char kInferenceToken[] = "infer-0123456789abcdef0123456789";

// The value of response header `name`, or "" when it has none.
std::string HeaderOf(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

class RestApiAccessTest : public RestApiTest {
 protected:
  // A RestApi over the same registry with the policy of `options`, whose *_token_file fields
  // hold the tokens themselves here: each is written to a file in the test's directory (mode
  // 0600, as AccessPolicy requires) and the field replaced by the file's path.
  std::unique_ptr<RestApi> Guarded(security::AccessPolicy::Options options) {
    for (std::string* file : {&options.admin_token_file, &options.inference_token_file}) {
      if (file->empty()) continue;
      const std::string token = *file;
      *file = absl::StrCat(dir_, "/", file == &options.admin_token_file ? "admin" : "inference");
      std::ofstream(*file) << token << "\n";
      chmod(file->c_str(), 0600);
    }
    absl::StatusOr<std::unique_ptr<const security::AccessPolicy>> policy =
        security::AccessPolicy::Create(options);
    EXPECT_TRUE(policy.ok()) << policy.status();
    if (!policy.ok()) return nullptr;
    return std::make_unique<RestApi>(
        registry_.get(), RestApi::Options{.limits = {.max_images_per_request = 8},
                                          .metrics_text = [] { return std::string("m 1\n"); },
                                          .access = *std::move(policy)});
  }

  static HttpRequest Request(std::string method, std::string path,
                             std::vector<std::pair<std::string, std::string>> headers = {},
                             std::vector<std::string> identities = {}) {
    return {.method = std::move(method),
            .path = std::move(path),
            .headers = std::move(headers),
            .client_identities = std::move(identities)};
  }

  static std::string ErrorOf(const std::optional<HttpResponse>& refusal) {
    if (!refusal.has_value()) return "(admitted)";
    return Json::parse(refusal->body)["error"].get<std::string>();
  }
};

TEST_F(RestApiAccessTest, WithoutAPolicyOrAnInferenceTokenEverythingIsAdmitted) {
  EXPECT_FALSE(api_->Admit(Request("POST", "/v2/models/tiny/infer")).has_value());
  // An admin token alone restricts management, which the REST API does not offer.
  std::unique_ptr<RestApi> admin_only = Guarded({.admin_token_file = kAdminToken});
  ASSERT_NE(admin_only, nullptr);
  EXPECT_FALSE(admin_only->Admit(Request("POST", "/v2/models/tiny/infer")).has_value());
}

TEST_F(RestApiAccessTest, InferenceNeedsTheInferenceOrTheAdminToken) {
  std::unique_ptr<RestApi> api =
      Guarded({.admin_token_file = kAdminToken, .inference_token_file = kInferenceToken});
  ASSERT_NE(api, nullptr);

  const std::optional<HttpResponse> none = api->Admit(Request("POST", "/v2/models/tiny/infer"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->content_type, "application/json");
  EXPECT_EQ(HeaderOf(*none, "WWW-Authenticate"), R"(Bearer realm="pynq-inferd")");
  EXPECT_THAT(ErrorOf(none),
              HasSubstr("POST /v2/models/tiny/infer needs a bearer token (from "
                        "--inference_token_file or --admin_token_file)"));

  const std::optional<HttpResponse> wrong = api->Admit(Request(
      "POST", "/v2/models/tiny/versions/3/infer",
      {{"Authorization", "Bearer other-0123456789abcdef0123456789"}}));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(HeaderOf(*wrong, "WWW-Authenticate"),
            R"(Bearer realm="pynq-inferd", error="invalid_token")");
  EXPECT_THAT(ErrorOf(wrong), HasSubstr("not one this daemon accepts"));

  const std::optional<HttpResponse> basic = api->Admit(
      Request("POST", "/v2/models/tiny/infer", {{"Authorization", "Basic dXNlcjpwYXNz"}}));
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->status, 401);
  EXPECT_THAT(ErrorOf(basic), HasSubstr("not \"Bearer <token>\""));

  // The wrong method on the inference path is refused before it would be answered 405.
  EXPECT_EQ(api->Admit(Request("GET", "/v2/models/tiny/infer")).value_or(HttpResponse{}).status,
            401);

  // Header names are case-insensitive (RFC 9110 section 5.1), the scheme too (RFC 7235).
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Authorization", absl::StrCat("Bearer ", kInferenceToken)},
           {"authorization", absl::StrCat("bearer ", kInferenceToken)},
           {"Authorization", absl::StrCat("Bearer ", kAdminToken)}}) {
    const std::optional<HttpResponse> admitted =
        api->Admit(Request("POST", "/v2/models/tiny/infer", {{name, value}}));
    EXPECT_FALSE(admitted.has_value()) << name << ": " << value << " -> " << ErrorOf(admitted);
  }

  // Admitted, the request is served as without a policy.
  const std::string body = absl::StrCat(
      R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [2, 1, 4, 2], "data": )",
      DataJson(TwoImages()), "}]}");
  HttpRequest infer = Request("POST", "/v2/models/tiny/infer",
                              {{"Authorization", absl::StrCat("Bearer ", kInferenceToken)}});
  infer.body = body;
  ASSERT_FALSE(api->Admit(infer).has_value());
  const HttpResponse served = api->Handle(infer);
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(Json::parse(served.body)["outputs"][0]["data"].get<std::vector<int32_t>>(),
            NativeScores(TwoImages()));
}

TEST_F(RestApiAccessTest, HealthMetadataStatisticsAndMetricsStayOpen) {
  std::unique_ptr<RestApi> api =
      Guarded({.admin_token_file = kAdminToken, .inference_token_file = kInferenceToken});
  ASSERT_NE(api, nullptr);
  for (const std::string path :
       {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/stats", "/v2/models/tiny",
        "/v2/models/tiny/ready", "/v2/models/tiny/versions/3/ready", "/v2/models/tiny/config",
        "/v2/models/tiny/stats", "/metrics", "/metrics.json", "/", "/no/such/endpoint"}) {
    const HttpRequest request = Request("GET", path);
    const std::optional<HttpResponse> refusal = api->Admit(request);
    EXPECT_FALSE(refusal.has_value()) << path << ": " << ErrorOf(refusal);
  }
  EXPECT_EQ(api->Handle(Request("GET", "/v2/health/ready")).status, 200);
  EXPECT_EQ(api->Handle(Request("GET", "/metrics")).body, "m 1\n");
}

TEST_F(RestApiAccessTest, AnAdminClientCertificateMayInfer) {
  std::unique_ptr<RestApi> api = Guarded({.inference_token_file = kInferenceToken,
                                          .admin_identities = {"ops@pynq.test"}});
  ASSERT_NE(api, nullptr);
  EXPECT_FALSE(api->Admit(Request("POST", "/v2/models/tiny/infer", {},
                                  {"ops-admin", "ops@pynq.test"}))
                   .has_value());
  const std::optional<HttpResponse> reader =
      api->Admit(Request("POST", "/v2/models/tiny/infer", {}, {"reader"}));
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ(reader->status, 401);
  EXPECT_FALSE(api->Admit(Request("POST", "/v2/models/tiny/infer",
                                  {{"Authorization", absl::StrCat("Bearer ", kInferenceToken)}},
                                  {"reader"}))
                   .has_value());
}

// The REST API over a registry serving the zoo's LeNet-5, whose file declares MNIST's picture
// preprocessing.
class RestApiPictureTest : public RestApiTest {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rest_api_picture_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::copy_file(
        absl::StrCat(pynq::testing::SourceDir(), "/models/zoo/mnist-lenet5-int8.pim"),
        dir_ + "/mnist-lenet5-int8.pim");
    auto registry = ModelRegistry::Create({.model_dir = dir_});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    api_ = std::make_unique<RestApi>(registry_.get(),
                                     RestApi::Options{.limits = {.max_images_per_request = 8}});
  }

  // A dark "1" on white paper, 60x80, as a PNG.
  static std::string DrawnOne() {
    pynq::testing::Rgba picture(60, 80, {255, 255, 255, 255});
    for (uint32_t y = 12; y < 68; ++y) {
      for (uint32_t x = 27; x < 34; ++x) picture.at(x, y) = {20, 20, 20, 255};
    }
    absl::StatusOr<std::string> png = pynq::testing::EncodePng(picture, {});
    EXPECT_TRUE(png.ok()) << png.status();
    return png.ok() ? *png : "";
  }

  static int ArgMax(const std::vector<int32_t>& scores) {
    return static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
  }
};

TEST_F(RestApiPictureTest, APictureAsTheBodyOrAsBase64InJsonIsClassified) {
  const std::string one = DrawnOne();
  const HttpResponse raw = Call("POST", "/v2/models/mnist-lenet5-int8/infer", one,
                                {{"Content-Type", "image/png"}});
  ASSERT_EQ(raw.status, 200) << raw.body;
  const Json raw_json = Json::parse(raw.body);
  EXPECT_EQ(raw_json["parameters"]["backend"], "cpu");
  ASSERT_EQ(raw_json["outputs"].size(), 1u);
  EXPECT_THAT(raw_json["outputs"][0]["shape"].get<std::vector<int64_t>>(), ElementsAre(1, 10));
  const std::vector<int32_t> scores = raw_json["outputs"][0]["data"].get<std::vector<int32_t>>();
  EXPECT_EQ(ArgMax(scores), 1);

  const HttpResponse json = Call(
      "POST", "/v2/models/mnist-lenet5-int8/infer",
      absl::StrCat(R"({"parameters": {"return_model_input": true},
                       "inputs": [{"name": "images", "datatype": "BYTES", "shape": [1],
                                   "data": [")",
                   absl::Base64Escape(one), R"("]}]})"),
      {{"Content-Type", "application/json"}});
  ASSERT_EQ(json.status, 200) << json.body;
  const Json answer = Json::parse(json.body);
  ASSERT_EQ(answer["outputs"].size(), 2u);
  EXPECT_EQ(answer["outputs"][0]["data"].get<std::vector<int32_t>>(), scores);
  const Json& seen = answer["outputs"][1];
  EXPECT_EQ(seen["name"], "model_input");
  EXPECT_EQ(seen["datatype"], "UINT8");
  EXPECT_THAT(seen["shape"].get<std::vector<int64_t>>(), ElementsAre(1, 1, 28, 28));
  const std::vector<int> pixels = seen["data"].get<std::vector<int>>();
  ASSERT_EQ(pixels.size(), 784u);
  // The stroke, light on dark as MNIST's digits are, in the middle column; the corner is empty.
  EXPECT_GT(pixels[14 * 28 + 14], 128);
  EXPECT_EQ(pixels[0], 0);
  // What the model saw, sent as a raw tensor, gives the same scores.
  std::string input;
  for (int p : pixels) input.push_back(static_cast<char>(p));
  EXPECT_EQ(NativeScores({input}, "mnist-lenet5-int8"), scores);
}

TEST_F(RestApiPictureTest, BadPicturesAndTypesAreRefusedByName) {
  const std::string one = DrawnOne();
  const HttpResponse truncated = Call("POST", "/v2/models/mnist-lenet5-int8/infer",
                                      one.substr(0, 70), {{"Content-Type", "image/png"}});
  EXPECT_EQ(truncated.status, 400);
  EXPECT_THAT(Json::parse(truncated.body)["error"].get<std::string>(),
              HasSubstr("input \"images\" picture 0: truncated PNG"));
  const HttpResponse blank = Call(
      "POST", "/v2/models/mnist-lenet5-int8/infer", "P2 4 4 255 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9",
      {{"Content-Type", "image/x-portable-graymap"}});
  EXPECT_EQ(blank.status, 400);
  EXPECT_THAT(blank.body, HasSubstr("nothing on the picture"));
  const HttpResponse gif = Call("POST", "/v2/models/mnist-lenet5-int8/infer", "GIF89a",
                                {{"Content-Type", "image/gif; charset=binary"}});
  EXPECT_EQ(gif.status, 415);
  EXPECT_THAT(gif.body, HasSubstr("send image/png, image/jpeg or image/x-portable-graymap"));
  EXPECT_EQ(Call("POST", "/v2/models/nope/infer", "GIF89a", {{"Content-Type", "image/gif"}})
                .status,
            404);
  const Json stats = Json::parse(Call("GET", "/metrics.json").body);
  const std::vector<Json> failures = stats["models"][0]["failures"].get<std::vector<Json>>();
  EXPECT_EQ(failures[0]["reason"], "invalid_request");
  EXPECT_EQ(failures[0]["count"], 3);
}

TEST_F(RestApiPictureTest, MetricsJsonCarriesTheLiveFiguresAndLatencyBuckets) {
  const HttpResponse before = Call("GET", "/metrics.json");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.content_type, "application/json");
  Json stats = Json::parse(before.body);
  EXPECT_GE(stats["uptime_s"].get<double>(), 0.0);
  ASSERT_EQ(stats["models"].size(), 1u);
  EXPECT_EQ(stats["models"][0]["model"], "mnist-lenet5-int8");
  EXPECT_EQ(stats["models"][0]["backend"], "cpu");
  EXPECT_EQ(stats["models"][0]["queue_depth"], 0);
  EXPECT_EQ(stats["models"][0]["latency_buckets"]["le_us"].size(),
            LatencyHistogram::kExportBoundsUs.size());
  EXPECT_EQ(stats["models"][0]["latency_buckets"]["counts"].size(),
            LatencyHistogram::kExportBuckets);

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call("POST", "/v2/models/mnist-lenet5-int8/infer", DrawnOne(),
                   {{"Content-Type", "image/png"}})
                  .status,
              200);
  }
  stats = Json::parse(Call("GET", "/metrics.json").body);
  const Json& model = stats["models"][0];
  EXPECT_EQ(model["requests_ok"], 3);
  EXPECT_EQ(model["images"], 3);
  EXPECT_GT(model["images_per_s_60s"].get<double>(), 0.0);
  const std::vector<uint64_t> counts =
      model["latency_buckets"]["counts"].get<std::vector<uint64_t>>();
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), uint64_t{0}), 3u);
}

TEST_F(RestApiTest, TheConsoleIsOneSelfContainedPage) {
  const HttpResponse page = Call("GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("<canvas id=\"pad\""));
  EXPECT_THAT(page.body, HasSubstr("metrics.json"));
  EXPECT_TRUE(page.body.ends_with("</html>\n"));
  // Nothing is loaded from elsewhere: no external script, style or image.
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("src=\"http")));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("href=\"http")));
  bool has_policy = false;
  for (const auto& [name, value] : page.headers) {
    if (name == "Content-Security-Policy") {
      has_policy = true;
      EXPECT_THAT(value, HasSubstr("default-src 'none'"));
      EXPECT_THAT(value, HasSubstr("connect-src 'self'"));
    }
  }
  EXPECT_TRUE(has_policy);
  EXPECT_EQ(Call("POST", "/").status, 405);
}

}  // namespace
}  // namespace pynq::service::http
