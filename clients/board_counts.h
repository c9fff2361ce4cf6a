// Counts which board answered each call on a channel, by the "pynq-board" initial metadata
// pynq-inferd sends with every answer (service/server.h, Options::board_name). Behind a balancer
// (gRPC's round_robin over several addresses, nginx, HAProxy) the peer address does not name the
// board; the metadata does, through proxies too.
//
//   auto counts = std::make_shared<BoardCounts>();
//   PYNQ_ASSIGN_OR_RETURN(auto channel, CreateSecureChannel("a:1,b:2", {}, counts));
//   ... calls on `channel` ...
//   for (const auto& [board, tally] : counts->Snapshot()) ...  // tally.ok, tally.failed
//
// A call counts once, when its status arrives: as ok or failed under the board that sent its
// initial metadata, or under kNoBoard when none did (refused before any board answered, e.g.
// no board reachable). A stream counts as one call. Thread-safe.
#ifndef PYNQ_CLIENTS_BOARD_COUNTS_H_
#define PYNQ_CLIENTS_BOARD_COUNTS_H_

#include <grpcpp/support/client_interceptor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"

namespace pynq::clients {

class BoardCounts {
 public:
  // The initial-metadata key pynq-inferd names itself by.
  static constexpr char kMetadataKey[] = "pynq-board";
  // Where calls without a board's metadata are counted.
  static constexpr char kNoBoard[] = "(no board)";

  struct Tally {
    uint64_t ok = 0;
    uint64_t failed = 0;
  };

  void Add(const std::string& board, bool ok);
  std::map<std::string, Tally> Snapshot() const;

  // An interceptor factory that Add()s every call of the channel it is installed on; it keeps
  // `counts` alive.
  static std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> Interceptor(
      std::shared_ptr<BoardCounts> counts);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Tally> tallies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pynq::clients

#endif  // PYNQ_CLIENTS_BOARD_COUNTS_H_
