// The daemon's gRPC server: pynq_infer.v1.Inference, grpc.health.v1.Health and server
// reflection on one listening address, over a ModelRegistry.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(registry.get(), options));
//   spdlog::info("listening on port {}", server->port());
//   ... wait for SIGTERM ...
//   server->Shutdown(absl::Seconds(30));   // answers every accepted request first
#ifndef PYNQ_SERVICE_SERVER_H_
#define PYNQ_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "service/inference_service.h"
#include "service/model_registry.h"

namespace pynq::service {

class Server {
 public:
  // The name under which grpc.health.v1 reports the inference service.
  static constexpr char kServiceName[] = "pynq_infer.v1.Inference";
  // The name under which grpc.health.v1 reports the accelerator: NOT_SERVING while the FPGA
  // engine is faulted or disabled (the CPU may still be serving, see --cpu_fallback).
  static constexpr char kAcceleratorServiceName[] = "pynq_infer.v1.Accelerator";

  struct Options {
    // host:port; port 0 picks a free port (see port()).
    std::string listen_address = "0.0.0.0:50051";
    // Largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED.
    int max_message_bytes = 4 << 20;
    // On Shutdown(): how long the connections stay open (refusing new calls) after the last
    // answer was handed to gRPC, so every client reads its answers before its connection
    // closes. A client still sending when a connection closes gets a reset, and gRPC then fails
    // every call on that connection, including ones whose answers were sent but not yet read.
    absl::Duration shutdown_linger = absl::Milliseconds(250);
    InferenceService::Options service;
  };

  // Binds and starts serving. kUnavailable if the address cannot be bound. `registry` must
  // outlive the Server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ModelRegistry* registry,
                                                       const Options& options);

  // Shuts down (see Shutdown()) if that has not happened yet.
  ~Server();

  // The port actually bound.
  int port() const { return port_; }

  // Graceful stop, so that no accepted request is lost:
  //   1. health turns NOT_SERVING;
  //   2. the service refuses every new request with UNAVAILABLE and open streams stop reading
  //      (InferenceService::BeginShutdown()), while the connections stay up so refusals arrive;
  //   3. every batcher answers what it accepted (ModelRegistry::Drain(), not bounded by `grace`:
  //      an accepted request is always run);
  //   4. the calls hand their last answers to gRPC (up to `grace` from the start, for clients
  //      that do not read), then the connections stay open for Options::shutdown_linger;
  //   5. the gRPC server stops, cancelling whatever call is still open when `grace` has passed.
  // Blocks until done. Call once, from one thread.
  void Shutdown(absl::Duration grace);

 private:
  Server(ModelRegistry* registry, const Options& options);

  ModelRegistry* const registry_;
  const absl::Duration shutdown_linger_;
  // Declared before server_: the gRPC server, destroyed first, calls into the service.
  InferenceService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SERVER_H_
