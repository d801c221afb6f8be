#include "agent/transport/sender.h"

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace vigil::agent::transport {

BatchSender::BatchSender(Spool& spool, std::unique_ptr<AgentApi> api, const Clock& clock,
                         SenderOptions options)
    : spool_(spool), api_(std::move(api)), clock_(clock), options_(std::move(options)) {
  if (!options_.random) {
    options_.random = SystemRandom();
  }
}

BatchSender::~BatchSender() { Stop(); }

Status BatchSender::Enqueue(std::vector<proto::Observation> observations) {
  auto groups = SplitObservations(std::move(observations), options_.limits);
  for (auto& group : groups) {
    proto::Batch batch;
    batch.agent_version = options_.agent_version;
    batch.observations = std::move(group);
    std::vector<Gap> gaps;
    {
      std::lock_guard lock(mu_);
      for (const Gap& g : spool_.Gaps()) {
        bool in_flight = std::any_of(carried_.begin(), carried_.end(), [&](const auto& kv) {
          return std::find(kv.second.begin(), kv.second.end(), g) != kv.second.end();
        });
        if (!in_flight && gaps.size() < options_.limits.max_gaps) {
          gaps.push_back(g);
        }
      }
    }
    VIGIL_ASSIGN_OR_RETURN(uint64_t seq, spool_.NextSequence());
    batch.sequence = seq;
    batch.sent_at = clock_.Now();
    for (const Gap& g : gaps) {
      batch.gaps.push_back({g.first, g.last});
    }
    VIGIL_RETURN_IF_ERROR(spool_.Append(seq, proto::EncodeBatch(batch)));
    std::lock_guard lock(mu_);
    if (!gaps.empty()) {
      carried_[seq] = std::move(gaps);
    }
    wake_ = true;
    cv_.notify_all();
  }
  return Status::Ok();
}

BatchSender::Outcome BatchSender::SendOldest() {
  auto oldest = spool_.Oldest();
  if (!oldest.has_value()) {
    std::lock_guard lock(mu_);
    last_error_ = oldest.error();
    return Outcome::kRetry;
  }
  if (!oldest->has_value()) {
    return Outcome::kEmpty;
  }
  const SpoolEntry& entry = **oldest;
  std::string seq_text = std::to_string(entry.sequence);
  auto reply = api_->PostBatch(entry.payload);
  Outcome outcome;
  if (reply.has_value()) {
    outcome = Outcome::kDelivered;
  } else {
    switch (reply.error().code()) {
      case ErrorCode::kInvalidArgument:
        VIGIL_LOG(err, "server refused batch, dropping it: retrying cannot help",
                  {{"sequence", seq_text}, {"error", reply.error().ToString()}});
        outcome = Outcome::kDropped;
        break;
      case ErrorCode::kPayloadTooLarge:
        VIGIL_LOG(err, "server refused batch as too large, dropping it",
                  {{"sequence", seq_text}, {"error", reply.error().ToString()}});
        outcome = Outcome::kDropped;
        break;
      case ErrorCode::kUnauthenticated:
        VIGIL_LOG(err, "device revoked or credential invalid; keeping results spooled",
                  {{"sequence", seq_text}, {"error", reply.error().ToString()}});
        outcome = Outcome::kRevoked;
        break;
      default:
        VIGIL_LOG(warn, "cannot deliver batch, will retry",
                  {{"sequence", seq_text}, {"error", reply.error().ToString()}});
        outcome = Outcome::kRetry;
        break;
    }
  }
  if (outcome == Outcome::kDelivered || outcome == Outcome::kDropped) {
    Status acked = spool_.Ack(entry.sequence);
    if (!acked.ok()) {
      VIGIL_LOG(err, "cannot remove delivered batch from the spool",
                {{"sequence", seq_text}, {"error", acked.ToString()}});
    }
  }
  std::vector<Gap> gaps;
  bool revision_changed = false;
  int64_t revision = 0;
  {
    std::lock_guard lock(mu_);
    auto it = carried_.find(entry.sequence);
    if (it != carried_.end() && (outcome == Outcome::kDelivered || outcome == Outcome::kDropped)) {
      if (outcome == Outcome::kDelivered) {
        gaps = std::move(it->second);
      }
      carried_.erase(it);  // a dropped batch's gaps go with the next batch
    }
    if (outcome == Outcome::kDelivered) {
      last_error_ = Status::Ok();
      ++delivered_;
      revision = reply->config_revision;
      revision_changed = config_revision_ >= 0 && revision != config_revision_;
    } else if (!reply.has_value()) {
      last_error_ = reply.error();
    }
  }
  if (!gaps.empty()) {
    Status s = spool_.AckGaps(gaps);
    if (!s.ok()) {
      VIGIL_LOG(warn, "cannot forget reported gaps", {{"error", s.ToString()}});
    }
  }
  if (outcome == Outcome::kDelivered) {
    VIGIL_LOG(debug, "batch delivered",
              {{"sequence", seq_text}, {"duplicate", reply->duplicate ? "true" : "false"}});
  }
  cv_.notify_all();
  if (revision_changed && options_.on_config_revision) {
    options_.on_config_revision(revision);
  }
  return outcome;
}

void BatchSender::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) {
    return;
  }
  thread_ = std::thread([this] { Loop(); });
}

void BatchSender::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void BatchSender::Loop() {
  int attempt = 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        return;
      }
      wake_ = false;
    }
    Outcome outcome = SendOldest();
    std::unique_lock lock(mu_);
    switch (outcome) {
      case Outcome::kDelivered:
      case Outcome::kDropped:
        attempt = 0;
        break;
      case Outcome::kEmpty:
        attempt = 0;
        cv_.wait(lock, [&] { return stop_ || wake_; });
        break;
      case Outcome::kRetry: {
        auto delay = BackoffDelay(options_.backoff, attempt, options_.random());
        attempt = std::min(attempt + 1, 30);
        cv_.wait_for(lock, delay, [&] { return stop_; });
        break;
      }
      case Outcome::kRevoked:
        cv_.wait_for(lock, options_.revoked_retry, [&] { return stop_; });
        break;
    }
  }
}

bool BatchSender::WaitDrained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return stop_ || spool_.size() == 0; }) &&
         spool_.size() == 0;
}

void BatchSender::SetConfigRevision(int64_t revision) {
  std::lock_guard lock(mu_);
  config_revision_ = revision;
}

Status BatchSender::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

uint64_t BatchSender::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

}  // namespace vigil::agent::transport
