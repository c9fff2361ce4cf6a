#include "service/server.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "service/security/grpc_security.h"
#include "service/unparsed_request.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

namespace {

InferenceService::Options ServiceOptions(const Server::Options& options) {
  InferenceService::Options service = options.service;
  service.access = options.security.access;
  return service;
}

}  // namespace

Server::Server(ModelRegistry* registry, const Options& options)
    : registry_(registry),
      shutdown_linger_(options.shutdown_linger),
      service_(registry, &calls_, ServiceOptions(options)),
      oip_service_(registry, &calls_,
                   {.limits = {.max_images_per_request = options.service.max_images_per_request},
                    .max_stream_in_flight = options.service.max_stream_in_flight,
                    .access = options.security.access}) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ModelRegistry* registry,
                                                      const Options& options) {
  // Both are process-wide switches that must be set before the first ServerBuilder.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<Server> server(new Server(registry, options));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           security::GrpcServerCredentials(options.security), &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.RegisterService(&server->service_);
  builder.RegisterService(&server->oip_service_);
  // A request that does not parse is INVALID_ARGUMENT, not gRPC's bare UNIMPLEMENTED.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<UnparsedRequestInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use, or not an address of this host?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(kServiceName, true);
  if (accel::EngineHealth* engine = registry->engine_health(); engine != nullptr) {
    engine->SetHealthListener(
        [health](bool ok) { health->SetServingStatus(kAcceleratorServiceName, ok); });
    health->SetServingStatus(kAcceleratorServiceName,
                             engine->state() == accel::EngineState::kOk);
  } else {
    health->SetServingStatus(kAcceleratorServiceName, true);
  }
  return server;
}

Server::~Server() {
  if (!shut_down_) Shutdown(absl::ZeroDuration());
}

void Server::Shutdown(absl::Duration grace) {
  shut_down_ = true;
  const absl::Time deadline = absl::Now() + grace;
  // The listener must not reach the health service after it is gone; batches still drain below.
  if (accel::EngineHealth* engine = registry_->engine_health(); engine != nullptr) {
    engine->SetHealthListener(nullptr);
  }
  server_->GetHealthCheckService()->Shutdown();
  oip_service_.BeginShutdown();
  // Refusals and answers travel over connections that are still up: only once every accepted
  // request has been answered, and its answer has had time to reach its client, do the
  // connections close (see Options::shutdown_linger for why that wait matters).
  registry_->StopAccepting();
  calls_.BeginShutdown();
  registry_->Drain();
  if (const size_t open = calls_.WaitForCalls(deadline); open > 0) {
    spdlog::warn("{} calls still open after the shutdown grace; gRPC cancels them", open);
  }
  absl::SleepFor(std::min(shutdown_linger_, std::max(deadline - absl::Now(), absl::ZeroDuration())));
  server_->Shutdown(absl::ToChronoTime(deadline));
}

}  // namespace pynq::service
