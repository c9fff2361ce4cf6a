// Closed-loop load over the Open Inference Protocol's REST API, for `pynq-infer bench
// --protocol=rest`: `concurrency` threads, each with its own kept-alive HTTP/1.1 connection
// (cpp-httplib's client, the library the daemon serves HTTP with), each sending the next
// POST /v2/models/{model}/infer as soon as the last is answered. A request counts as OK when the
// answer is 200 with a body; other statuses count under the gRPC code of the same meaning
// (400 INVALID_ARGUMENT, 404 NOT_FOUND, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, ...), a broken
// connection as UNAVAILABLE.
//
//   RestLoadDriver driver({.host = "127.0.0.1", .port = 8000, .path = "/v2/models/m/infer",
//                          .concurrency = 16, .images_per_request = 1,
//                          .timeout = absl::Seconds(10)}, bodies, recorder);
//   driver.Start();   ... measure from `recorder` ...
//   driver.Stop();    // blocks until every request sent has been answered
#ifndef PYNQ_CLIENTS_REST_LOAD_DRIVER_H_
#define PYNQ_CLIENTS_REST_LOAD_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/load_recorder.h"

namespace pynq::clients {

class RestLoadDriver {
 public:
  struct Options {
    std::string host;
    int port = 0;
    std::string path;
    uint32_t concurrency = 1;
    uint32_t images_per_request = 1;
    absl::Duration timeout = absl::Seconds(10);
  };

  // `bodies` (JSON request bodies, sent in turn) and `recorder` must outlive the driver.
  RestLoadDriver(Options options, const std::vector<std::string>& bodies, Recorder& recorder);
  ~RestLoadDriver() { Stop(); }

  void Start();
  void Stop();

 private:
  void Run(uint32_t thread);

  const Options options_;
  const std::vector<std::string>& bodies_;
  Recorder& recorder_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// host:port (e.g. "127.0.0.1:8000", "[::1]:8000") split; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address);

// The JSON body of an inference request for `images` (each one image's pixels), shape [N, bytes].
std::string RestInferBody(const std::vector<std::string_view>& images);

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_REST_LOAD_DRIVER_H_
