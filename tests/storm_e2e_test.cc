// A storm of malformed requests through the real pynq-inferd, mixed with good traffic (issue 15):
// random field values, wrong image sizes, unknown models, huge top_k, bad pictures, too many
// images, oversized messages, bodies that are not protobuf through gRPC's generic API (native and
// Open Inference Protocol methods), streams that mix good and bad requests, streams half-closed at
// once, cancelled calls and calls whose deadline has already passed. It checks that every bad
// request gets the status code proto/pynq_infer/v1/inference.proto documents (or, in a stream,
// the in-band error with that code), every good request its golden scores, that the daemon stays
// up, that its resident memory stays within a stated bound during the storm, and that it gives
// the memory back to the system afterwards.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.pb.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_data.h"

namespace pynq {
namespace {

namespace v1 = ::pynq_infer::v1;

constexpr char kModel[] = "mnist-bnn-tfc";
constexpr size_t kImageBytes = 28 * 28;
constexpr int kBadRequests = 10000;
constexpr int kThreads = 8;
// The daemon's limits in this test (its flags), so the bound below is a stated figure.
constexpr int kMaxImagesPerRequest = 64;
constexpr int kMaxQueueImages = 1024;
constexpr int kMaxMessageBytes = 1 << 20;
constexpr char kClassify[] = "/pynq_infer.v1.Inference/Classify";
constexpr char kClassifyStream[] = "/pynq_infer.v1.Inference/ClassifyStream";
constexpr char kModelInfer[] = "/inference.GRPCInferenceService/ModelInfer";

// AddressSanitizer holds freed memory in a quarantine of up to 256 MB, so a daemon built with it
// grows by design; its memory is checked only in the other builds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCheckMemory = false;
#else
constexpr bool kCheckMemory = true;
#endif

// What a request of the storm is, and so which answer it must get.
enum class Kind {
  kGood,            // OK, golden scores
  kUnknownModel,    // NOT_FOUND
  kBadUtf8Model,    // INVALID_ARGUMENT "could not be parsed" (a string field must be UTF-8)
  kNoImages,        // INVALID_ARGUMENT
  kWrongSize,       // INVALID_ARGUMENT
  kHugeTopK,        // INVALID_ARGUMENT
  kBothKinds,       // INVALID_ARGUMENT (images and encoded_images)
  kBadPicture,      // INVALID_ARGUMENT (encoded_images that are not a picture)
  kTooManyImages,   // INVALID_ARGUMENT
  kOversized,       // RESOURCE_EXHAUSTED
  kGarbageNative,   // INVALID_ARGUMENT "could not be parsed", or as validated if it parses
  kGarbageOip,      // the same for the Open Inference Protocol's ModelInfer
  kDeadlineZero,    // DEADLINE_EXCEEDED
  kCancelled,       // CANCELLED, or OK with golden scores when the answer won the race
  kEmptyStream,     // a stream half-closed before any request: OK, no responses
  kStreamEnd,       // how a stream of requests ended (not a request itself): OK
};

const char* KindName(Kind kind) {
  static const char* const kNames[] = {
      "good",          "unknown_model", "bad_utf8_model", "no_images",   "wrong_size",
      "huge_top_k",    "both_kinds",    "bad_picture",    "too_many_images", "oversized",
      "garbage_native", "garbage_oip",  "deadline_zero",  "cancelled",   "empty_stream",
      "stream_end"};
  return kNames[static_cast<int>(kind)];
}

// Reads VmRSS of `pid` in kB (0 if the process is gone).
int64_t RssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// The held-out digits and the model's golden scores on them.
class Golden {
 public:
  Golden() {
    absl::StatusOr<testing::TestSet> set = testing::ReadHeldOutSet(kModel);
    EXPECT_TRUE(set.ok()) << set.status();
    if (set.ok()) set_ = *std::move(set);
  }
  size_t count() const { return set_.images.count; }
  std::string image(size_t i) const {
    auto span = set_.images.image(i);
    return std::string(span.begin(), span.end());
  }
  bool Matches(const v1::ClassifyResponse& response, const std::vector<size_t>& images) const {
    if (response.results_size() != static_cast<int>(images.size())) return false;
    for (size_t i = 0; i < images.size(); ++i) {
      const auto& got = response.results(static_cast<int>(i)).scores();
      auto want = set_.golden.row(images[i]);
      if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) return false;
    }
    return true;
  }

 private:
  testing::TestSet set_;
};

// A request of a kind that validation refuses (or a good one), with its expected code.
struct Built {
  Kind kind = Kind::kGood;
  v1::ClassifyRequest request;
  std::vector<size_t> images;  // for kGood: the held-out indices sent
  grpc::StatusCode expected = grpc::StatusCode::OK;
};

Built BuildRequest(Kind kind, const Golden& golden, std::mt19937_64& rng) {
  Built b;
  b.kind = kind;
  v1::ClassifyRequest& r = b.request;
  r.set_model(kModel);
  r.set_tag(rng());
  r.set_top_k(rng() % 11);
  auto random_bytes = [&rng](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  auto add_good_images = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const size_t index = rng() % golden.count();
      b.images.push_back(index);
      r.add_images(golden.image(index));
    }
  };
  b.expected = grpc::StatusCode::INVALID_ARGUMENT;
  switch (kind) {
    case Kind::kGood:
    case Kind::kDeadlineZero:
    case Kind::kCancelled:
      add_good_images(1 + rng() % 4);
      b.expected = kind == Kind::kGood        ? grpc::StatusCode::OK
                   : kind == Kind::kCancelled ? grpc::StatusCode::CANCELLED
                                              : grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case Kind::kUnknownModel: {
      std::string name = "no-such-model-";
      for (size_t n = rng() % 16; n > 0; --n) name += static_cast<char>('a' + rng() % 26);
      r.set_model(name);
      add_good_images(1);
      b.expected = grpc::StatusCode::NOT_FOUND;
      break;
    }
    case Kind::kBadUtf8Model:
      r.set_model(absl::StrCat(kModel, "\xff\xfe"));
      add_good_images(1);
      break;
    case Kind::kNoImages:
      break;
    case Kind::kWrongSize: {
      size_t n = rng() % 4000;
      if (n == kImageBytes) ++n;
      add_good_images(rng() % 3);
      r.add_images(random_bytes(n));
      break;
    }
    case Kind::kHugeTopK:
      add_good_images(1);
      r.set_top_k(11 + rng() % 0xfffffff0u);
      break;
    case Kind::kBothKinds:
      add_good_images(1);
      r.add_encoded_images(random_bytes(1 + rng() % 100));
      break;
    case Kind::kBadPicture:
      r.add_encoded_images(random_bytes(rng() % 300));
      if (rng() % 2) r.mutable_encoded_images(0)->replace(0, 0, "\x89PNG\r\n\x1a\n");
      break;
    case Kind::kTooManyImages:
      for (int i = 0; i <= kMaxImagesPerRequest + static_cast<int>(rng() % 8); ++i) {
        r.add_images(std::string(kImageBytes, '\0'));
      }
      break;
    case Kind::kOversized:
      r.add_images(random_bytes(kMaxMessageBytes + 1 + rng() % 1000));
      b.expected = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    default:
      break;
  }
  return b;
}

// Counts per kind and status, and the first few mismatches in full.
class Tally {
 public:
  void Record(Kind kind, grpc::StatusCode code, bool as_expected, const std::string& detail) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[{kind, code}];
    if (kind != Kind::kGood && kind != Kind::kStreamEnd) ++bad_;
    if (!as_expected) {
      ++mismatches_;
      if (examples_.size() < 10) examples_.push_back(absl::StrCat(KindName(kind), ": ", detail));
    }
  }
  int bad() const { std::lock_guard<std::mutex> lock(mu_); return bad_; }
  int mismatches() const { std::lock_guard<std::mutex> lock(mu_); return mismatches_; }
  std::string Report() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::ostringstream out;
    for (const auto& [key, n] : counts_) {
      out << absl::StrFormat("  %-18s %-20s %6d\n", KindName(key.first),
                             key.second == grpc::StatusCode::OK
                                 ? "OK"
                                 : absl::StrCat("code ", static_cast<int>(key.second)),
                             n);
    }
    for (const std::string& e : examples_) out << "  mismatch: " << e << "\n";
    return out.str();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<Kind, grpc::StatusCode>, int> counts_;
  int bad_ = 0;
  int mismatches_ = 0;
  std::vector<std::string> examples_;
};

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("code ", static_cast<int>(s.error_code()), " \"", s.error_message(), "\"");
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// One client thread of the storm.
class Client {
 public:
  Client(std::shared_ptr<grpc::Channel> channel, const Golden& golden, Tally& tally, uint64_t seed)
      : channel_(channel),
        stub_(v1::Inference::NewStub(channel)),
        generic_(channel),
        golden_(golden),
        tally_(tally),
        rng_(seed) {}

  // See GarbageInStream() below; public for the test of that case alone.
  void SendGarbageInStream() { GarbageInStream(); }

  // Sends `bad` malformed requests, with a good one after every second bad one.
  void Run(int bad) {
    // Weights of the bad kinds: the costly ones (oversized messages, streams) are rarer.
    const std::vector<std::pair<Kind, int>> weights = {
        {Kind::kUnknownModel, 10}, {Kind::kNoImages, 10},     {Kind::kWrongSize, 10},
        {Kind::kHugeTopK, 10},     {Kind::kBothKinds, 8},     {Kind::kBadPicture, 10},
        {Kind::kTooManyImages, 4}, {Kind::kOversized, 1},     {Kind::kGarbageNative, 12},
        {Kind::kGarbageOip, 8},    {Kind::kDeadlineZero, 6},  {Kind::kCancelled, 6},
        {Kind::kBadUtf8Model, 4}};
    int total = 0;
    for (const auto& w : weights) total += w.second;
    int sent = 0;
    while (sent < bad) {
      if (sent % 2 == 0) Unary(Kind::kGood);
      int pick = static_cast<int>(rng_() % (total + 2));
      if (pick >= total) {
        // A stream of mixed requests (each bad one counts), or one half-closed at once.
        sent += Stream(std::min(bad - sent, 1 + static_cast<int>(rng_() % 8)));
        continue;
      }
      Kind kind = Kind::kUnknownModel;
      for (const auto& w : weights) {
        if (pick < w.second) {
          kind = w.first;
          break;
        }
        pick -= w.second;
      }
      switch (kind) {
        case Kind::kGarbageNative:
        case Kind::kGarbageOip:
          Garbage(kind);
          break;
        default:
          Unary(kind);
      }
      ++sent;
    }
  }

 private:
  void Unary(Kind kind) {
    Built b = BuildRequest(kind, golden_, rng_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::ClassifyResponse response;
    grpc::Status status;
    if (kind == Kind::kDeadlineZero) {
      context.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
      status = stub_->Classify(&context, b.request, &response);
    } else if (kind == Kind::kCancelled) {
      std::mutex mu;
      std::condition_variable done_cv;
      bool done = false;
      stub_->async()->Classify(&context, &b.request, &response, [&](grpc::Status s) {
        std::lock_guard<std::mutex> lock(mu);
        status = std::move(s);
        done = true;
        done_cv.notify_one();
      });
      context.TryCancel();
      std::unique_lock<std::mutex> lock(mu);
      done_cv.wait(lock, [&] { return done; });
    } else {
      status = stub_->Classify(&context, b.request, &response);
    }
    bool ok = status.error_code() == b.expected;
    // A cancelled call may have been answered before the cancellation arrived.
    if (kind == Kind::kCancelled && status.ok()) ok = true;
    if (status.ok()) ok = ok && golden_.Matches(response, b.images) &&
                          response.tag() == b.request.tag();
    if (!status.ok() && b.expected != grpc::StatusCode::CANCELLED &&
        b.expected != grpc::StatusCode::DEADLINE_EXCEEDED) {
      ok = ok && !status.error_message().empty();
    }
    if (kind == Kind::kBadUtf8Model) {
      ok = ok && status.error_message().find("could not be parsed") != std::string::npos;
    }
    tally_.Record(kind, status.error_code(), ok, Describe(status));
  }

  // Random bytes through the generic API to a unary method of either protocol.
  void Garbage(Kind kind) {
    std::string body(1 + rng_() % 200, '\0');
    for (char& c : body) c = static_cast<char>(rng_());
    bool parses = false;
    if (kind == Kind::kGarbageNative) {
      v1::ClassifyRequest parsed;
      parses = parsed.ParseFromString(body);
    } else {
      ::inference::ModelInferRequest parsed;
      parses = parsed.ParseFromString(body);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::ByteBuffer request = ToBuffer(body);
    grpc::ByteBuffer response;
    std::mutex mu;
    std::condition_variable done_cv;
    bool done = false;
    grpc::Status status;
    generic_.UnaryCall(&context, kind == Kind::kGarbageNative ? kClassify : kModelInfer, {},
                       &request, &response, [&](grpc::Status s) {
                         std::lock_guard<std::mutex> lock(mu);
                         status = std::move(s);
                         done = true;
                         done_cv.notify_one();
                       });
    {
      std::unique_lock<std::mutex> lock(mu);
      done_cv.wait(lock, [&] { return done; });
    }
    bool ok;
    if (!parses) {
      ok = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
           status.error_message().find("could not be parsed") != std::string::npos;
    } else {
      // Bytes that happen to be a valid message are validated like any request: a random model
      // name is not loaded, or the request's inputs are refused.
      ok = status.error_code() == grpc::StatusCode::NOT_FOUND ||
           status.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
    }
    tally_.Record(kind, status.error_code(), ok,
                  absl::StrCat(parses ? "(parses) " : "", Describe(status)));
  }

  // A ClassifyStream of `n` requests, mixed good and bad, half-closed after the last; n == 1
  // sometimes sends nothing and half-closes at once. Returns the bad requests sent.
  int Stream(int n) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = stub_->ClassifyStream(&context);
    const bool empty = n == 1 && rng_() % 4 == 0;
    std::vector<Built> sent;
    int bad = 0;
    static const Kind kStreamKinds[] = {Kind::kGood,      Kind::kUnknownModel, Kind::kNoImages,
                                        Kind::kWrongSize, Kind::kHugeTopK,     Kind::kBothKinds,
                                        Kind::kBadPicture, Kind::kTooManyImages};
    while (!empty && bad < n) {
      const Kind kind = kStreamKinds[rng_() % std::size(kStreamKinds)];
      Built b = BuildRequest(kind, golden_, rng_);
      b.request.set_tag(sent.size());
      if (!stream->Write(b.request)) break;
      if (kind != Kind::kGood) ++bad;
      sent.push_back(std::move(b));
    }
    stream->WritesDone();
    v1::ClassifyResponse response;
    size_t received = 0;
    while (stream->Read(&response)) {
      if (received >= sent.size()) {
        tally_.Record(Kind::kStreamEnd, grpc::StatusCode::OK, false, "a response too many");
        continue;
      }
      const Built& b = sent[received];
      const grpc::StatusCode code = static_cast<grpc::StatusCode>(response.error().code());
      bool ok = response.tag() == received && code == b.expected;
      if (b.expected == grpc::StatusCode::OK) {
        ok = ok && golden_.Matches(response, b.images);
      } else {
        ok = ok && !response.error().message().empty();
      }
      tally_.Record(b.kind, code, ok,
                    absl::StrCat("stream response ", received, " code ",
                                 response.error().code(), " ", response.error().message()));
      ++received;
    }
    const grpc::Status status = stream->Finish();
    const bool ok = status.ok() && received == sent.size();
    if (!ok) {
      tally_.Record(Kind::kStreamEnd, status.error_code(), false,
                    absl::StrCat("stream of ", sent.size(), " ended with ", received,
                                 " responses and ", Describe(status)));
    }
    if (empty) {
      tally_.Record(Kind::kEmptyStream, status.error_code(), ok,
                    absl::StrCat(received, " responses, ", Describe(status)));
      return 1;
    }
    if (ok) tally_.Record(Kind::kStreamEnd, status.error_code(), true, "");
    return bad;
  }

  // A stream whose second frame is not a ClassifyRequest: the first is answered, and the stream
  // must end with INVALID_ARGUMENT instead of passing over the frame.
  void GarbageInStream() {
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto call = generic_.PrepareCall(&context, kClassifyStream, &cq);
    auto step = [&cq](int tag) {
      void* got = nullptr;
      bool ok = false;
      EXPECT_TRUE(cq.Next(&got, &ok));
      EXPECT_EQ(got, reinterpret_cast<void*>(static_cast<intptr_t>(tag)));
      return ok;
    };
    auto tag = [](int t) { return reinterpret_cast<void*>(static_cast<intptr_t>(t)); };
    call->StartCall(tag(1));
    step(1);
    Built good = BuildRequest(Kind::kGood, golden_, rng_);
    good.request.set_tag(0);
    std::string garbage;
    v1::ClassifyRequest probe;
    do {
      garbage.assign(1 + rng_() % 100, '\0');
      for (char& c : garbage) c = static_cast<char>(rng_());
    } while (probe.ParseFromString(garbage));
    call->Write(ToBuffer(good.request.SerializeAsString()), tag(2));
    step(2);
    call->Write(ToBuffer(garbage), tag(3));
    step(3);
    call->WritesDone(tag(4));
    step(4);
    int responses = 0;
    bool first_ok = false;
    for (;;) {
      grpc::ByteBuffer buffer;
      call->Read(&buffer, tag(5));
      if (!step(5)) break;
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (buffer.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      v1::ClassifyResponse response;
      if (responses == 0 && response.ParseFromString(bytes)) {
        first_ok = response.error().code() == 0 && golden_.Matches(response, good.images);
      }
      ++responses;
    }
    grpc::Status status;
    call->Finish(&status, tag(6));
    step(6);
    const bool ok = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
                    responses <= 1 && (responses == 0 || first_ok);
    tally_.Record(Kind::kStreamEnd, status.error_code(), ok,
                  absl::StrCat(responses, " responses, ", Describe(status)));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
  grpc::GenericStub generic_;
  const Golden& golden_;
  Tally& tally_;
  std::mt19937_64 rng_;
};

TEST(StormE2eTest, MalformedRequestsGetTheirCodesGoodOnesTheirAnswersAndMemoryComesBack) {
  Golden golden;
  ASSERT_GT(golden.count(), 0u);
  auto daemon = testing::DaemonProcess::Start(
      {.args = {absl::StrCat("--max_images_per_request=", kMaxImagesPerRequest),
                absl::StrCat("--max_queue_images=", kMaxQueueImages),
                absl::StrCat("--max_message_bytes=", kMaxMessageBytes)},
       .only_models = {kModel}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  const pid_t pid = (*daemon)->pid();

  grpc::ChannelArguments args;
  // Each client its own connection, as separate clients would have.
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  args.SetMaxSendMessageSize(-1);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kThreads; ++i) {
    channels.push_back(grpc::CreateCustomChannel((*daemon)->address(),
                                                 grpc::InsecureChannelCredentials(), args));
  }

  // Warm up with good traffic, so the baseline includes the daemon's steady state.
  Tally warmup;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Client client(channels[t], golden, warmup, 1000 + t);
        client.Run(0);
        for (int i = 0; i < 50; ++i) client.Run(2);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t before_kb = RssKb(pid);

  std::atomic<bool> storming{true};
  std::atomic<int64_t> peak_kb{before_kb};
  std::thread sampler([&] {
    while (storming.load()) {
      const int64_t rss = RssKb(pid);
      int64_t peak = peak_kb.load();
      while (rss > peak && !peak_kb.compare_exchange_weak(peak, rss)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  Tally tally;
  const absl::Time start = absl::Now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Client client(channels[t], golden, tally, t + 1);
        client.Run(kBadRequests / kThreads);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  const absl::Duration storm = absl::Now() - start;
  storming = false;
  sampler.join();

  // The daemon gives freed memory back once the storm is over (service/memory_trimmer.h trims
  // within a second or two of the burst).
  int64_t after_kb = RssKb(pid);
  for (int i = 0; i < 50 && after_kb > before_kb + 8 * 1024; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after_kb = RssKb(pid);
  }
  std::printf("storm: %d bad requests (+ good traffic) in %.1f s; RSS before %lld kB, peak %lld "
              "kB, after %lld kB\n%s",
              tally.bad(), absl::ToDoubleSeconds(storm), static_cast<long long>(before_kb),
              static_cast<long long>(peak_kb.load()), static_cast<long long>(after_kb),
              tally.Report().c_str());

  EXPECT_GE(tally.bad(), kBadRequests);
  EXPECT_EQ(tally.mismatches(), 0) << tally.Report();
  EXPECT_EQ(warmup.mismatches(), 0) << warmup.Report();
  // Still up, and still answering.
  ASSERT_EQ(kill(pid, 0), 0);
  {
    Tally last;
    Client client(channels[0], golden, last, 99);
    client.Run(0);
    for (int i = 0; i < 10; ++i) client.Run(2);
    EXPECT_EQ(last.mismatches(), 0) << last.Report();
  }
  if (kCheckMemory) {
    // The bound: the queue's images (kMaxQueueImages x 784 B), each client's largest message in
    // flight twice (gRPC's receive buffer and the parsed request: 8 x 2 x 1 MB), and a fixed
    // margin of 32 MB for gRPC's per-call and per-thread state and the allocator's slack.
    const int64_t bound_kb =
        (int64_t{kMaxQueueImages} * kImageBytes + int64_t{kThreads} * 2 * kMaxMessageBytes) /
            1024 +
        32 * 1024;
    EXPECT_LE(peak_kb.load() - before_kb, bound_kb)
        << "before " << before_kb << " kB, peak " << peak_kb.load() << " kB";
    EXPECT_LE(after_kb - before_kb, 8 * 1024)
        << "before " << before_kb << " kB, after " << after_kb << " kB";
  }
  absl::StatusOr<int> exit_code = (*daemon)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

// gRPC 1.51's callback API reports a stream frame that does not parse to a typed reactor as the
// end of the stream, the same as a half-close; ClassifyStream is registered raw and parses each
// frame itself (service/ordered_stream.h), so the frame ends the stream with INVALID_ARGUMENT.
TEST(StormE2eTest, AFrameThatIsNotARequestEndsTheStreamWithInvalidArgument) {
  Golden golden;
  auto daemon = testing::DaemonProcess::Start({.only_models = {kModel}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  Tally tally;
  Client client(grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials()),
                golden, tally, 7);
  for (int i = 0; i < 20; ++i) client.SendGarbageInStream();
  EXPECT_EQ(tally.mismatches(), 0) << tally.Report();
}

}  // namespace
}  // namespace pynq
