#include "service/http/rest_routes.h"

#include <vector>

#include "absl/strings/str_split.h"

namespace pynq::service::http {

std::optional<Route> MatchRoute(std::string_view path) {
  if (path == "/metrics") return Route{.endpoint = Endpoint::kMetrics, .method = "GET"};
  if (path == "/metrics.json") return Route{.endpoint = Endpoint::kMetricsJson, .method = "GET"};
  if (path == "/") return Route{.endpoint = Endpoint::kConsole, .method = "GET"};
  if (!path.starts_with('/')) return std::nullopt;
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(path.data() + 1, path.size() - 1), '/');
  const size_t n = parts.size();
  if (n == 0 || parts[0] != "v2") return std::nullopt;
  if (n == 1) return Route{.endpoint = Endpoint::kServerMetadata, .method = "GET"};
  if (n == 3 && parts[1] == "health") {
    if (parts[2] == "live") return Route{.endpoint = Endpoint::kLive, .method = "GET"};
    if (parts[2] == "ready") return Route{.endpoint = Endpoint::kReady, .method = "GET"};
    return std::nullopt;
  }
  if (parts[1] != "models" || n < 3 || parts[2].empty()) return std::nullopt;
  if (n == 3 && parts[2] == "stats") return Route{.endpoint = Endpoint::kAllStats, .method = "GET"};
  Route route{.model = std::string(parts[2])};
  size_t next = 3;
  if (n >= 5 && parts[3] == "versions") {
    if (parts[4].empty()) return std::nullopt;
    route.version = std::string(parts[4]);
    next = 5;
  }
  if (next == n) {
    route.endpoint = Endpoint::kModelMetadata;
    route.method = "GET";
    return route;
  }
  if (next + 1 != n) return std::nullopt;
  const absl::string_view action = parts[next];
  route.method = "GET";
  if (action == "ready") {
    route.endpoint = Endpoint::kModelReady;
  } else if (action == "config") {
    route.endpoint = Endpoint::kModelConfig;
  } else if (action == "stats") {
    route.endpoint = Endpoint::kModelStats;
  } else if (action == "infer") {
    route.endpoint = Endpoint::kInfer;
    route.method = "POST";
  } else {
    return std::nullopt;
  }
  return route;
}

}  // namespace pynq::service::http
