#include "clients/channel_security.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "clients/board_counts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(ChannelTargetTest, AListBecomesOneMultiAddressTarget) {
  absl::StatusOr<ChannelTarget> v4 = ResolveChannelTarget("127.0.0.1:5001, 127.0.0.2:5002");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->target, "ipv4:127.0.0.1:5001,127.0.0.2:5002");
  EXPECT_TRUE(v4->fleet);
  absl::StatusOr<ChannelTarget> v6 = ResolveChannelTarget("[::1]:5001,[::1]:5002");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->target, "ipv6:[::1]:5001,[::1]:5002");
  // Host names are resolved once.
  absl::StatusOr<ChannelTarget> named = ResolveChannelTarget("localhost:5001,127.0.0.3:5003");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(named->target, HasSubstr("127.0.0.3:5003"));
}

TEST(ChannelTargetTest, OneAddressOrADnsNameIsKept) {
  absl::StatusOr<ChannelTarget> one = ResolveChannelTarget("board.lan:50051");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->target, "board.lan:50051");
  EXPECT_FALSE(one->fleet);
  absl::StatusOr<ChannelTarget> dns = ResolveChannelTarget("dns:///boards.lan:50051");
  ASSERT_TRUE(dns.ok());
  EXPECT_EQ(dns->target, "dns:///boards.lan:50051");
  EXPECT_TRUE(dns->fleet);
}

TEST(ChannelTargetTest, BadListsAreRefusedByName) {
  EXPECT_EQ(ResolveChannelTarget("127.0.0.1:1,nonsense").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveChannelTarget("127.0.0.1:1,127.0.0.1:70000").status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status mixed = ResolveChannelTarget("127.0.0.1:1,[::1]:2").status();
  EXPECT_EQ(mixed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.message(), HasSubstr("mixes IPv4 and IPv6"));
  EXPECT_EQ(ResolveChannelTarget("127.0.0.1:1,no-such-host.invalid:2").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ChannelTargetTest, ListBoardsNamesEachBoard) {
  absl::StatusOr<std::vector<std::string>> list = ListBoards("a.lan:1, b.lan:2");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"a.lan:1", "b.lan:2"}));
  absl::StatusOr<std::vector<std::string>> dns = ListBoards("dns:///localhost:7");
  ASSERT_TRUE(dns.ok()) << dns.status();
  EXPECT_THAT(*dns, Contains("127.0.0.1:7"));
}

TEST(ChannelTargetTest, TlsToAListNeedsAServerName) {
  const auto channel = CreateSecureChannel("127.0.0.1:1,127.0.0.1:2", {.tls = true});
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("--tls_server_name"));
}

// A board: GetMetrics answers with "pynq-board: <name>" metadata; health as the test sets it.
class FakeBoard final : public pynq_infer::v1::Inference::Service {
 public:
  explicit FakeBoard(std::string name) : name_(std::move(name)) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeBoard() override { server_->Shutdown(); }

  grpc::Status GetMetrics(grpc::ServerContext* context, const pynq_infer::v1::GetMetricsRequest*,
                          pynq_infer::v1::GetMetricsResponse*) override {
    context->AddInitialMetadata(BoardCounts::kMetadataKey, name_);
    return grpc::Status::OK;
  }
  void SetServing(bool serving) {
    server_->GetHealthCheckService()->SetServingStatus("pynq_infer.v1.Inference", serving);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  const std::string name_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Calls GetMetrics `n` times; returns how many failed.
int Call(const std::shared_ptr<grpc::Channel>& channel, int n) {
  auto stub = pynq_infer::v1::Inference::NewStub(channel);
  int failed = 0;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    pynq_infer::v1::GetMetricsResponse response;
    if (!stub->GetMetrics(&context, {}, &response).ok()) ++failed;
  }
  return failed;
}

TEST(FleetChannelTest, RoundRobinSkipsABoardThatIsNotServing) {
  FakeBoard a("a");
  FakeBoard b("b");
  a.SetServing(true);
  b.SetServing(true);
  auto counts = std::make_shared<BoardCounts>();
  auto channel = CreateSecureChannel(absl::StrCat(a.address(), ",", b.address()), {}, counts);
  ASSERT_TRUE(channel.ok()) << channel.status();
  // Both take a share (the very first calls may all go to whichever connected first).
  ASSERT_EQ(Call(*channel, 20), 0);
  const uint64_t a0 = counts->Snapshot()["a"].ok;
  const uint64_t b0 = counts->Snapshot()["b"].ok;
  EXPECT_EQ(a0 + b0, 20u);
  EXPECT_GT(a0, 0u);
  EXPECT_GT(b0, 0u);

  // b turns NOT_SERVING (as a draining daemon does): every call goes to a, and to b alone when
  // the roles swap. The health Watch stream tells the channel at once; allow it a moment.
  b.SetServing(false);
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(Call(*channel, 20), 0);
  EXPECT_EQ(counts->Snapshot()["a"].ok, a0 + 20);
  EXPECT_EQ(counts->Snapshot()["b"].ok, b0);
  b.SetServing(true);
  a.SetServing(false);
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(Call(*channel, 20), 0);
  EXPECT_EQ(counts->Snapshot()["a"].ok, a0 + 20);
  EXPECT_EQ(counts->Snapshot()["b"].ok, b0 + 20);
}

TEST(FleetChannelTest, CallsWithoutABoardsMetadataAreCountedApart) {
  auto counts = std::make_shared<BoardCounts>();
  auto channel = CreateSecureChannel("127.0.0.1:1", {}, counts);
  ASSERT_TRUE(channel.ok());
  EXPECT_EQ(Call(*channel, 1), 1);
  EXPECT_EQ(counts->Snapshot()[BoardCounts::kNoBoard].failed, 1u);
}

}  // namespace
}  // namespace pynq::clients
