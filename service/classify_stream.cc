#include "service/classify_stream.h"

#include <utility>

#include "service/grpc_status.h"
#include "service/inference_service.h"

namespace pynq::service {

ClassifyStreamReactor::ClassifyStreamReactor(InferenceService* service,
                                             grpc::CallbackServerContext* context)
    : service_(service), caller_(CallerOf(context)) {
  if (!service_->AddStream(this)) {
    std::lock_guard lock(mu_);
    stop_reading_ = true;  // opened while the daemon shuts down: ends at once
  }
  Advance();
}

void ClassifyStreamReactor::OnReadDone(bool ok) {
  Pending* accepted = nullptr;
  bool refuse = false;
  {
    std::lock_guard lock(mu_);
    reading_ = false;
    if (!ok) {
      reads_done_ = true;  // the client half-closed, or the call broke
    } else if (!finished_) {
      accepted = incoming_.get();
      pending_.push_back(std::move(incoming_));
      // Read just as the shutdown began: answered, but not run.
      refuse = stop_reading_;
    }
  }
  if (refuse) {
    OnAnswered(accepted, absl::UnavailableError(
                             "pynq-inferd is shutting down and accepts no new requests"));
  } else if (accepted != nullptr) {
    // Queued outside mu_: the batcher may answer (and call OnAnswered) before Submit returns.
    absl::Status queued = service_->Submit(
        accepted->request, &accepted->response, caller_,
        [this, accepted](const absl::Status& status) { OnAnswered(accepted, status); });
    if (!queued.ok()) OnAnswered(accepted, queued);
  }
  Advance();
}

void ClassifyStreamReactor::OnAnswered(Pending* pending, const absl::Status& status) {
  if (!status.ok()) {
    pending->response.Clear();
    pending->response.set_tag(pending->request.tag());
    pending->response.set_model(pending->request.model());
    ToErrorProto(status, pending->response.mutable_error());
  }
  {
    std::lock_guard lock(mu_);
    pending->answered = true;
  }
  Advance();
}

void ClassifyStreamReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    pending_.pop_front();
    if (!ok) write_failed_ = true;
  }
  Advance();
}

void ClassifyStreamReactor::StopReading() {
  {
    std::lock_guard lock(mu_);
    stop_reading_ = true;
  }
  Advance();
}

void ClassifyStreamReactor::Pin() {
  std::lock_guard lock(mu_);
  ++pins_;
}

void ClassifyStreamReactor::Unpin() {
  bool last = false;
  {
    std::lock_guard lock(mu_);
    last = --pins_ == 0 && done_;
  }
  if (last) delete this;
}

void ClassifyStreamReactor::OnDone() {
  // Unregistered first: from here on no one can pin the reactor, only release earlier pins.
  service_->RemoveStream(this);
  {
    std::lock_guard lock(mu_);
    done_ = true;
    if (pins_ > 0) return;  // the last Unpin() deletes it
  }
  delete this;
}

void ClassifyStreamReactor::Advance() {
  const pynq_infer::v1::ClassifyResponse* to_write = nullptr;
  pynq_infer::v1::ClassifyRequest* to_read = nullptr;
  bool finish = false;
  grpc::Status finish_status = grpc::Status::OK;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (write_failed_) {
      // Nobody will read these answers; drop the finished ones so Finish() can come.
      while (!pending_.empty() && pending_.front()->answered) pending_.pop_front();
    } else if (!writing_ && !pending_.empty() && pending_.front()->answered) {
      writing_ = true;
      to_write = &pending_.front()->response;
    }
    if (!reading_ && !reads_done_ && !write_failed_ && !stop_reading_ &&
        pending_.size() < service_->options().max_stream_in_flight) {
      reading_ = true;
      incoming_ = std::make_unique<Pending>();
      to_read = &incoming_->request;
    }
    // Reads have ended (or the stream stops reading; a read still outstanding then fails when
    // the stream finishes), and every request read has been answered and written.
    const bool no_more_reads = reads_done_ || write_failed_ || stop_reading_;
    const bool read_settled = !reading_ || stop_reading_;
    if (no_more_reads && read_settled && !writing_ && to_write == nullptr && pending_.empty()) {
      finished_ = true;
      finish = true;
      if (write_failed_) {
        finish_status = grpc::Status(grpc::StatusCode::CANCELLED,
                                     "the stream broke before every response was written");
      } else if (stop_reading_ && !reads_done_) {
        finish_status = grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "pynq-inferd is shutting down; every request it read has been answered");
      }
    }
  }
  if (to_write != nullptr) StartWrite(to_write);
  if (to_read != nullptr) StartRead(to_read);
  if (finish) Finish(finish_status);
}

}  // namespace pynq::service
