// pynq-nowork-server: the yardstick for the daemon's serving overhead. It serves
// pynq_infer.v1.Inference on the same gRPC stack, with the same server options and the same
// messages as pynq-inferd (a ClassifyResponse with one Classification per image: class, label,
// `classes` scores, timing fields), but does no work: no validation, no queue, no batch, no
// accelerator. bench/daemon_vs_nowork runs the same load against both and prints the ratio.
//
//   pynq-nowork-server --listen=127.0.0.1:0 --port_file=/tmp/port --model=mnist-bnn-tfc
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "grpcpp/grpcpp.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to serve on; port 0 picks one.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here.");
ABSL_FLAG(std::string, model, "mnist-bnn-tfc", "The model name it answers for.");
ABSL_FLAG(int, classes, 10, "Scores per image in each response.");
ABSL_FLAG(int, input_bytes, 784, "Bytes per image, as ListModels reports it.");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "Largest request message, as pynq-inferd's flag.");

namespace {

namespace v1 = ::pynq_infer::v1;

// The response pynq-inferd would send for `request`, with fixed numbers in place of results.
void Answer(const v1::ClassifyRequest& request, v1::ClassifyResponse* response) {
  response->set_model(request.model());
  response->set_model_version("1.0.0");
  response->set_backend("cpu");
  response->set_tag(request.tag());
  const int classes = absl::GetFlag(FLAGS_classes);
  for (int i = 0; i < request.images_size(); ++i) {
    v1::Classification* result = response->add_results();
    for (int c = 0; c < classes; ++c) result->add_scores(c - 5);
    result->set_class_index(static_cast<uint32_t>(classes - 1));
    result->set_label(std::to_string(classes - 1));
    result->set_queue_us(1);
    result->set_accelerator_us(1);
    result->set_batch_size(1);
  }
}

// Echoes an answer per request, in order, one write at a time, reading ahead without limit.
// Decisions are made under mu_ and the gRPC calls after releasing it: a call may run a reaction
// (even OnDone(), which deletes the reactor) on this thread.
class EchoStream final : public grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse> {
 public:
  EchoStream() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    bool read_again = false;
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        reads_done_ = true;
      } else {
        answers_.emplace_back();
        Answer(request_, &answers_.back());
        read_again = true;
      }
    }
    if (read_again) StartRead(&request_);
    Next();
  }
  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      answers_.pop_front();
      if (!ok) failed_ = true;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    const v1::ClassifyResponse* write = nullptr;
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (finished_ || writing_) return;
      if (!failed_ && !answers_.empty()) {
        writing_ = true;
        write = &answers_.front();
      } else if (reads_done_ || failed_) {
        finished_ = true;
        finish = true;
      }
    }
    if (write != nullptr) StartWrite(write);
    if (finish) Finish(failed_ ? grpc::Status(grpc::StatusCode::CANCELLED, "write failed")
                               : grpc::Status::OK);
  }

  std::mutex mu_;
  v1::ClassifyRequest request_;
  std::deque<v1::ClassifyResponse> answers_;
  bool reads_done_ = false;
  bool writing_ = false;
  bool failed_ = false;
  bool finished_ = false;
};

class NoWorkService final : public v1::Inference::CallbackService {
 public:
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const v1::ClassifyRequest* request,
                                     v1::ClassifyResponse* response) override {
    Answer(*request, response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse>* ClassifyStream(
      grpc::CallbackServerContext*) override {
    return new EchoStream();
  }
  // One model with no figures, so load generators that read GetMetrics work unchanged.
  grpc::ServerUnaryReactor* GetMetrics(grpc::CallbackServerContext* context,
                                       const v1::GetMetricsRequest*,
                                       v1::GetMetricsResponse* response) override {
    response->add_models()->set_model(absl::GetFlag(FLAGS_model));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context,
                                       const v1::ListModelsRequest*,
                                       v1::ListModelsResponse* response) override {
    v1::ModelInfo* info = response->add_models();
    info->set_name(absl::GetFlag(FLAGS_model));
    info->set_input_bytes(static_cast<uint32_t>(absl::GetFlag(FLAGS_input_bytes)));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  NoWorkService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "pynq-nowork-server: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return EXIT_FAILURE;
  }
  if (const std::string path = absl::GetFlag(FLAGS_port_file); !path.empty()) {
    {
      std::ofstream out(path + ".tmp");
      out << port << "\n";
    }
    std::rename((path + ".tmp").c_str(), path.c_str());
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server->Shutdown();
  return EXIT_SUCCESS;
}
