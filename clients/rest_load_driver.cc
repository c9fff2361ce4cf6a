#include "clients/rest_load_driver.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "httplib.h"

namespace pynq::clients {

namespace {

absl::StatusCode CodeOfHttpStatus(int status) {
  switch (status) {
    case 200:
      return absl::StatusCode::kOk;
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 413:
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not host:port (e.g. 127.0.0.1:8000)"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

std::string RestInferBody(const std::vector<std::string_view>& images) {
  std::vector<int> pixels;
  for (std::string_view image : images) {
    for (char c : image) pixels.push_back(static_cast<uint8_t>(c));
  }
  return absl::StrCat(R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [)",
                      images.size(), ", ", images.empty() ? 0 : images.front().size(),
                      R"(], "data": [)", absl::StrJoin(pixels, ","), "]}]}");
}

RestLoadDriver::RestLoadDriver(Options options, const std::vector<std::string>& bodies,
                               Recorder& recorder)
    : options_(std::move(options)), bodies_(bodies), recorder_(recorder) {}

void RestLoadDriver::Start() {
  for (uint32_t t = 0; t < options_.concurrency; ++t) {
    threads_.emplace_back([this, t] { Run(t); });
  }
}

void RestLoadDriver::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void RestLoadDriver::Run(uint32_t thread) {
  httplib::Client client(options_.host, options_.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(absl::ToChronoSeconds(options_.timeout));
  client.set_read_timeout(absl::ToChronoMicroseconds(options_.timeout));
  client.set_write_timeout(absl::ToChronoMicroseconds(options_.timeout));
  for (size_t i = thread; !stop_; i += options_.concurrency) {
    const Clock::time_point sent = Clock::now();
    httplib::Result result =
        client.Post(options_.path, bodies_[i % bodies_.size()], "application/json");
    const Clock::time_point now = Clock::now();
    absl::StatusCode code = absl::StatusCode::kUnavailable;
    if (result) {
      code = CodeOfHttpStatus(result->status);
      if (code == absl::StatusCode::kOk && result->body.empty()) code = absl::StatusCode::kInternal;
    }
    recorder_.Add(now, absl::FromChrono(now - sent), options_.images_per_request, code);
  }
}

}  // namespace pynq::clients
