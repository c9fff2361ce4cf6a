#include "service/http/rest_routes.h"

#include "gtest/gtest.h"

namespace pynq::service::http {
namespace {

TEST(RestRoutesTest, EveryEndpoint) {
  struct Case {
    const char* path;
    Endpoint endpoint;
    const char* method;
    const char* model;
    const char* version;
  } cases[] = {
      {"/v2/health/live", Endpoint::kLive, "GET", "", ""},
      {"/v2/health/ready", Endpoint::kReady, "GET", "", ""},
      {"/v2", Endpoint::kServerMetadata, "GET", "", ""},
      {"/v2/models/stats", Endpoint::kAllStats, "GET", "", ""},
      {"/v2/models/m", Endpoint::kModelMetadata, "GET", "m", ""},
      {"/v2/models/m/versions/1.2", Endpoint::kModelMetadata, "GET", "m", "1.2"},
      {"/v2/models/m/ready", Endpoint::kModelReady, "GET", "m", ""},
      {"/v2/models/m/versions/7/ready", Endpoint::kModelReady, "GET", "m", "7"},
      {"/v2/models/m/config", Endpoint::kModelConfig, "GET", "m", ""},
      {"/v2/models/m/stats", Endpoint::kModelStats, "GET", "m", ""},
      {"/v2/models/mnist-bnn-tfc/infer", Endpoint::kInfer, "POST", "mnist-bnn-tfc", ""},
      {"/v2/models/m/versions/2/infer", Endpoint::kInfer, "POST", "m", "2"},
      {"/metrics", Endpoint::kMetrics, "GET", "", ""},
      {"/metrics.json", Endpoint::kMetricsJson, "GET", "", ""},
      {"/", Endpoint::kConsole, "GET", "", ""},
  };
  for (const Case& c : cases) {
    std::optional<Route> route = MatchRoute(c.path);
    ASSERT_TRUE(route.has_value()) << c.path;
    EXPECT_EQ(route->endpoint, c.endpoint) << c.path;
    EXPECT_EQ(route->method, c.method) << c.path;
    EXPECT_EQ(route->model, c.model) << c.path;
    EXPECT_EQ(route->version, c.version) << c.path;
  }
}

TEST(RestRoutesTest, UnknownPathsHaveNoRoute) {
  for (const char* path : {"", "//", "/index.html", "/v1", "/v2/", "/v2/health", "/v2/health/dead",
                           "/v2/models", "/v2/models/", "/v2/models/m/", "/v2/models/m/infer/x",
                           "/v2/models/m/versions", "/v2/models/m/versions//infer",
                           "/v2/models/m/explain", "/metrics/", "/metrics.json/", "v2/health/live",
                           "/v2//models/m"}) {
    EXPECT_FALSE(MatchRoute(path).has_value()) << path;
  }
}

}  // namespace
}  // namespace pynq::service::http
