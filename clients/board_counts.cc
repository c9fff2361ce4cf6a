#include "clients/board_counts.h"

#include <utility>

namespace pynq::clients {

namespace {

using grpc::experimental::InterceptionHookPoints;

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(std::shared_ptr<BoardCounts> counts) : counts_(std::move(counts)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      const auto* metadata = methods->GetRecvInitialMetadata();
      if (auto it = metadata->find(BoardCounts::kMetadataKey); it != metadata->end()) {
        board_.assign(it->second.data(), it->second.size());
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      counts_->Add(board_.empty() ? BoardCounts::kNoBoard : board_, methods->GetRecvStatus()->ok());
    }
    methods->Proceed();
  }

 private:
  const std::shared_ptr<BoardCounts> counts_;
  std::string board_;
};

class CountingFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit CountingFactory(std::shared_ptr<BoardCounts> counts) : counts_(std::move(counts)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new CountingInterceptor(counts_);
  }

 private:
  const std::shared_ptr<BoardCounts> counts_;
};

}  // namespace

void BoardCounts::Add(const std::string& board, bool ok) {
  std::lock_guard lock(mu_);
  Tally& tally = tallies_[board];
  ++(ok ? tally.ok : tally.failed);
}

std::map<std::string, BoardCounts::Tally> BoardCounts::Snapshot() const {
  std::lock_guard lock(mu_);
  return tallies_;
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> BoardCounts::Interceptor(
    std::shared_ptr<BoardCounts> counts) {
  return std::make_unique<CountingFactory>(std::move(counts));
}

}  // namespace pynq::clients
