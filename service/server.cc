#include "service/server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "service/security/grpc_security.h"
#include "service/unparsed_request.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

// The board's name, set once the port is bound (calls may start before that: they see "").
class Server::BoardName {
 public:
  void Set(std::string name) {
    absl::MutexLock lock(&mu_);
    name_ = std::move(name);
  }
  std::string Get() const {
    absl::MutexLock lock(&mu_);
    return name_;
  }

 private:
  mutable absl::Mutex mu_;
  std::string name_ ABSL_GUARDED_BY(mu_);
};

namespace {

// Adds "pynq-board: <name>" to the initial metadata of every call, whichever service answers it.
class BoardNameInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BoardNameInterceptor(std::string name) : name_(std::move(name)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    // Not on a refusal sent without an answer: an error with empty initial metadata travels as
    // a "trailers-only" response, which a client's retry policy may still retry on another
    // board; initial metadata would commit the call to this board.
    const bool refusal =
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE) &&
        !methods->GetSendStatus().ok();
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA) &&
        !name_.empty() && !refusal) {
      methods->GetSendInitialMetadata()->emplace(Server::kBoardMetadataKey, name_);
    }
    methods->Proceed();
  }

 private:
  const std::string name_;
};

class BoardNameInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit BoardNameInterceptorFactory(std::function<std::string()> name)
      : name_(std::move(name)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new BoardNameInterceptor(name_());
  }

 private:
  const std::function<std::string()> name_;
};

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

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
                   {.limits = {.max_images_per_request = options.service.max_images_per_request,
                               .picture_limits = options.service.picture_limits},
                    .max_stream_in_flight = options.service.max_stream_in_flight,
                    .access = options.security.access}),
      board_name_(std::make_shared<BoardName>()) {}

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
  // A request that does not parse is INVALID_ARGUMENT, not gRPC's bare UNIMPLEMENTED; every
  // answer names the board that gave it.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<UnparsedRequestInterceptorFactory>());
  interceptors.push_back(std::make_unique<BoardNameInterceptorFactory>(
      [name = server->board_name_] { return name->Get(); }));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     " (address in use, or not an address of this host?)"));
  }
  server->board_name_->Set(options.board_name.empty()
                               ? absl::StrCat(HostName(), ":", server->port_)
                               : options.board_name);
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

std::string Server::board_name() const { return board_name_->Get(); }

void Server::BeginDraining() {
  if (draining_.exchange(true)) return;
  // The listener must not turn a service SERVING again; batches still run, and still drain later.
  if (accel::EngineHealth* engine = registry_->engine_health(); engine != nullptr) {
    engine->SetHealthListener(nullptr);
  }
  // Every name, "" included, turns NOT_SERVING and stays so; Watch streams see the change.
  server_->GetHealthCheckService()->Shutdown();
  oip_service_.BeginShutdown();
}

void Server::Shutdown(absl::Duration grace) {
  shut_down_ = true;
  const absl::Time deadline = absl::Now() + grace;
  BeginDraining();
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
