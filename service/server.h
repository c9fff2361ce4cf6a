// The daemon's gRPC server: pynq_infer.v1.Inference, the Open Inference Protocol
// (inference.GRPCInferenceService), grpc.health.v1.Health and server reflection on one listening
// address, over a ModelRegistry; with TLS and access control when Options::security says so.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(registry.get(), options));
//   spdlog::info("listening on port {}", server->port());
//   ... wait for SIGTERM ...
//   server->BeginDraining();               // health NOT_SERVING: balancers move away
//   absl::SleepFor(absl::Seconds(2));      // still serving whatever arrives meanwhile
//   server->Shutdown(absl::Seconds(30));   // answers every accepted request first
#ifndef PYNQ_SERVICE_SERVER_H_
#define PYNQ_SERVICE_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "service/inference_service.h"
#include "service/model_registry.h"
#include "service/oip/oip_service.h"
#include "service/open_calls.h"
#include "service/security/server_security.h"

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
    // Also the OIP service's limits: the same images per request and per stream. Its `access` is
    // replaced by security.access.
    InferenceService::Options service;
    // TLS on the port (plaintext when security.tls is unset) and the access policy the services
    // admit calls by (security/server_security.h). Health and reflection are always open.
    security::ServerSecurity security;
    // Sent as the "pynq-board" initial metadata of every call, so that a client behind a
    // balancer can tell which board answered (`pynq-infer bench` counts answers per board).
    // Empty: "<hostname>:<bound port>".
    std::string board_name;
  };

  // The initial-metadata key that carries Options::board_name.
  static constexpr char kBoardMetadataKey[] = "pynq-board";

  // Binds and starts serving. kUnavailable if the address cannot be bound. `registry` must
  // outlive the Server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ModelRegistry* registry,
                                                       const Options& options);

  // Shuts down (see Shutdown()) if that has not happened yet.
  ~Server();

  // The port actually bound.
  int port() const { return port_; }

  // Announces the drain while everything keeps serving: grpc.health.v1 turns NOT_SERVING for
  // every service name, "" included, and stays so (engine health changes are ignored from now
  // on), and OIP ServerReady answers false. Health-checking balancers (gRPC's round_robin with
  // healthCheckConfig, HAProxy) move their traffic away; requests that still arrive are served.
  // The caller waits a while (pynq-inferd's --drain_delay_ms) before Shutdown(). Thread-safe;
  // idempotent.
  void BeginDraining();

  // The name sent in the "pynq-board" metadata.
  std::string board_name() const;

  // Graceful stop, so that no accepted request is lost:
  //   1. BeginDraining(), unless it was called (health NOT_SERVING, OIP ServerReady false);
  //   2. every model refuses new requests with UNAVAILABLE (ModelRegistry::StopAccepting()), and
  //      open streams of both protocols stop reading, answer what they have read and end with
  //      UNAVAILABLE (OpenCalls::BeginShutdown()), while the connections stay up so refusals
  //      arrive;
  //   3. every batcher answers what it accepted (ModelRegistry::Drain(), not bounded by `grace`:
  //      an accepted request is always run);
  //   4. the calls hand their last answers to gRPC (OpenCalls::WaitForCalls(), up to `grace` from
  //      the start, for clients that do not read), then the connections stay open for
  //      Options::shutdown_linger;
  //   5. the gRPC server stops, cancelling whatever call is still open when `grace` has passed.
  // Blocks until done. Call once, from one thread.
  void Shutdown(absl::Duration grace);

 private:
  class BoardName;
  Server(ModelRegistry* registry, const Options& options);

  ModelRegistry* const registry_;
  const absl::Duration shutdown_linger_;
  // Declared before server_: the gRPC server, destroyed first, calls into the services, and
  // they into the open calls.
  OpenCalls calls_;
  InferenceService service_;
  oip::OipService oip_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
  std::atomic<bool> draining_{false};
  // Shared with the interceptor that stamps every call with the board name; set once the port
  // is bound.
  std::shared_ptr<BoardName> board_name_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SERVER_H_
