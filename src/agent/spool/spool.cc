#include "agent/spool/spool.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace vigil::agent {
namespace {

constexpr std::string_view kBatchMagic = "VGSB";
constexpr std::string_view kStateMagic = "VGSS";
constexpr uint16_t kFormatVersion = 1;
constexpr std::string_view kBatchSuffix = ".batch";
constexpr size_t kSeqDigits = 20;
constexpr size_t kStateHeaderSize = 4 + 2 + 2 + 8 + 4;
constexpr uint64_t kMaxStateBytes = kStateHeaderSize + kMaxGaps * 16 + 4 + 4096;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU16(std::string& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}
template <typename T>
T GetLe(std::string_view in, size_t pos) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  }
  return v;
}

// Adds `g` to the sorted, disjoint `gaps`: widens the last gap when `extend_last` and `g` lies
// after it, merges overlapping or adjacent gaps, and bounds the list at kMaxGaps.
void AddGap(std::vector<Gap>& gaps, Gap g, bool extend_last) {
  if (extend_last && !gaps.empty() && gaps.back().last < g.first) {
    gaps.back().last = g.last;
    return;
  }
  auto it = std::lower_bound(gaps.begin(), gaps.end(), g,
                             [](const Gap& a, const Gap& b) { return a.first < b.first; });
  it = gaps.insert(it, g);
  // Merge with the previous gap, then swallow following ones.
  if (it != gaps.begin()) {
    auto prev = std::prev(it);
    if (prev->last == UINT64_MAX || prev->last + 1 >= it->first) {
      prev->last = std::max(prev->last, it->last);
      it = std::prev(gaps.erase(it));
    }
  }
  while (std::next(it) != gaps.end() &&
         (it->last == UINT64_MAX || it->last + 1 >= std::next(it)->first)) {
    it->last = std::max(it->last, std::next(it)->last);
    gaps.erase(std::next(it));
  }
  while (gaps.size() > kMaxGaps) {
    // Over-reporting is safe (the server knows what it received); losing a gap is not.
    gaps[gaps.size() - 2].last = gaps.back().last;
    gaps.pop_back();
  }
}

bool InGaps(const std::vector<Gap>& gaps, uint64_t seq) {
  for (const Gap& g : gaps) {
    if (seq >= g.first && seq <= g.last) {
      return true;
    }
  }
  return false;
}

}  // namespace

uint32_t Crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (char ch : data) {
    crc = kCrcTable[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  }
  return ~crc;
}

std::string EncodeBatch(uint64_t seq, std::string_view payload) {
  VIGIL_CHECK(payload.size() <= kMaxPayloadBytes);
  std::string out;
  out.reserve(kBatchHeaderSize + payload.size());
  out.append(kBatchMagic);
  PutU16(out, kFormatVersion);
  PutU16(out, 0);
  PutU64(out, seq);
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc32(payload, Crc32(out)));
  out.append(payload);
  return out;
}

Result<SpoolEntry> DecodeBatch(std::string_view file) {
  if (file.size() < kBatchHeaderSize) {
    return InvalidArgument("batch file shorter than its header");
  }
  if (file.substr(0, 4) != kBatchMagic) {
    return InvalidArgument("bad batch magic");
  }
  if (GetLe<uint16_t>(file, 4) != kFormatVersion) {
    return InvalidArgument("unknown batch format version");
  }
  const uint64_t seq = GetLe<uint64_t>(file, 8);
  const uint32_t len = GetLe<uint32_t>(file, 16);
  const uint32_t crc = GetLe<uint32_t>(file, 20);
  if (file.size() - kBatchHeaderSize != len) {
    return InvalidArgument("batch length mismatch (torn write?)");
  }
  const std::string_view payload = file.substr(kBatchHeaderSize);
  if (Crc32(payload, Crc32(file.substr(0, 20))) != crc) {
    return InvalidArgument("batch checksum mismatch");
  }
  if (seq == 0) {
    return InvalidArgument("batch sequence 0");
  }
  return SpoolEntry{seq, std::string(payload)};
}

std::string EncodeState(const SpoolState& state) {
  std::string out;
  out.append(kStateMagic);
  PutU16(out, kFormatVersion);
  PutU16(out, 0);
  PutU64(out, state.next_seq);
  PutU32(out, static_cast<uint32_t>(state.gaps.size()));
  for (const Gap& g : state.gaps) {
    PutU64(out, g.first);
    PutU64(out, g.last);
  }
  PutU32(out, Crc32(out));
  return out;
}

Result<SpoolState> DecodeState(std::string_view file) {
  if (file.size() < kStateHeaderSize + 4) {
    return InvalidArgument("state file too short");
  }
  if (file.substr(0, 4) != kStateMagic) {
    return InvalidArgument("bad state magic");
  }
  if (GetLe<uint16_t>(file, 4) != kFormatVersion) {
    return InvalidArgument("unknown state format version");
  }
  const uint32_t count = GetLe<uint32_t>(file, 16);
  if (count > kMaxGaps || file.size() != kStateHeaderSize + uint64_t{count} * 16 + 4) {
    return InvalidArgument("state file length mismatch");
  }
  const size_t body = file.size() - 4;
  if (Crc32(file.substr(0, body)) != GetLe<uint32_t>(file, body)) {
    return InvalidArgument("state checksum mismatch");
  }
  SpoolState state;
  state.next_seq = GetLe<uint64_t>(file, 8);
  if (state.next_seq == 0) {
    return InvalidArgument("state next sequence 0");
  }
  for (uint32_t i = 0; i < count; ++i) {
    Gap g{GetLe<uint64_t>(file, kStateHeaderSize + i * 16),
          GetLe<uint64_t>(file, kStateHeaderSize + i * 16 + 8)};
    if (g.first == 0 || g.first > g.last ||
        (!state.gaps.empty() && state.gaps.back().last >= g.first)) {
      return InvalidArgument("state gaps not sorted and disjoint");
    }
    state.gaps.push_back(g);
  }
  return state;
}

std::string BatchFileName(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kSeqDigits - digits.size(), '0') + digits + std::string(kBatchSuffix);
}

std::optional<uint64_t> ParseBatchFileName(std::string_view name) {
  if (name.size() != kSeqDigits + kBatchSuffix.size() || name.substr(kSeqDigits) != kBatchSuffix) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  const char* first = name.data();
  const char* last = name.data() + kSeqDigits;
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(first, last, seq);
  if (ec != std::errc() || ptr != last || seq == 0) {
    return std::nullopt;
  }
  return seq;
}

Spool::Spool(FileSystem& fs, std::string dir, SpoolLimits limits)
    : fs_(fs), dir_(std::move(dir)), limits_(limits) {}

std::string Spool::BatchPath(uint64_t seq) const { return dir_ + "/" + BatchFileName(seq); }
std::string Spool::StatePath() const { return dir_ + "/" + std::string(kStateFileName); }

Status Spool::WriteState(uint64_t next_seq, const std::vector<Gap>& gaps) {
  return fs_.WriteFileAtomically(StatePath(), EncodeState(SpoolState{next_seq, gaps}));
}

Result<std::unique_ptr<Spool>> Spool::Open(FileSystem& fs, std::string dir, SpoolLimits limits) {
  if (dir.empty()) {
    return InvalidArgument("spool directory is empty");
  }
  if (limits.max_bytes == 0 || limits.max_batches == 0) {
    return InvalidArgument("spool limits must be positive");
  }
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  VIGIL_RETURN_IF_ERROR(fs.CreateDir(dir));
  VIGIL_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, fs.ListDir(dir));
  std::unique_ptr<Spool> spool(new Spool(fs, std::move(dir), limits));
  SpoolRecovery& rec = spool->recovery_;

  // Sort the directory out.
  std::map<uint64_t, uint64_t> candidates;  // sequence -> file size
  bool have_state = false;
  for (const DirEntry& e : entries) {
    const bool is_file = e.type == DirEntry::Type::kFile;
    if (is_file && e.name.size() > kTempSuffix.size() &&
        std::string_view(e.name).substr(e.name.size() - kTempSuffix.size()) == kTempSuffix) {
      // Never acknowledged: an interrupted write, not a gap.
      if (fs.Remove(spool->dir_ + "/" + e.name).ok()) {
        ++rec.temp_removed;
      }
      continue;
    }
    if (e.name == kStateFileName && is_file) {
      have_state = true;
      continue;
    }
    const std::optional<uint64_t> seq = ParseBatchFileName(e.name);
    if (!seq || !is_file) {
      ++rec.ignored;
      continue;
    }
    candidates.emplace(*seq, e.size);
  }

  SpoolState state;
  bool state_dirty = !have_state;
  if (have_state) {
    Result<std::string> data = fs.ReadFile(spool->StatePath(), kMaxStateBytes);
    if (!data && data.error().code() != ErrorCode::kResourceExhausted) {
      return data.error();  // an I/O failure: do not guess
    }
    Result<SpoolState> decoded =
        data ? DecodeState(*data) : Result<SpoolState>(InvalidArgument("state file too large"));
    if (decoded) {
      state = std::move(*decoded);
    } else {
      rec.state_reset = true;
      state_dirty = true;
    }
  } else if (!candidates.empty()) {
    rec.state_reset = true;
  }

  // Verify every batch file.
  std::vector<uint64_t> to_remove;
  std::vector<Gap> new_gaps;
  uint64_t max_seen = 0;
  for (const Gap& g : state.gaps) {
    max_seen = std::max(max_seen, g.last);
  }
  for (const auto& [seq, size] : candidates) {
    max_seen = std::max(max_seen, seq);
    if (InGaps(state.gaps, seq)) {
      to_remove.push_back(seq);  // dropped before, removal did not finish
      continue;
    }
    bool ok = false;
    uint64_t payload_size = 0;
    if (size >= kBatchHeaderSize && size - kBatchHeaderSize <= kMaxPayloadBytes) {
      Result<std::string> data =
          fs.ReadFile(spool->BatchPath(seq), kBatchHeaderSize + kMaxPayloadBytes);
      if (data) {
        Result<SpoolEntry> entry = DecodeBatch(*data);
        if (entry && entry->sequence == seq) {
          ok = true;
          payload_size = entry->payload.size();
        }
      }
    }
    if (!ok) {
      ++rec.corrupt_removed;
      to_remove.push_back(seq);
      AddGap(new_gaps, Gap{seq, seq}, /*extend_last=*/false);
      continue;
    }
    spool->batches_.emplace(seq, payload_size);
    spool->bytes_ += payload_size;
  }

  // Enforce the limits (they may have shrunk since the batches were written).
  std::optional<Gap> dropped;
  while (!spool->batches_.empty() &&
         (spool->batches_.size() > limits.max_batches || spool->bytes_ > limits.max_bytes)) {
    auto oldest = spool->batches_.begin();
    if (!dropped) {
      dropped = Gap{oldest->first, oldest->first};
    }
    dropped->last = oldest->first;
    to_remove.push_back(oldest->first);
    spool->bytes_ -= oldest->second;
    spool->batches_.erase(oldest);
  }
  if (dropped) {
    AddGap(new_gaps, *dropped, /*extend_last=*/false);
  }

  uint64_t next_seq = std::max(state.next_seq, max_seen + 1);
  if (rec.state_reset) {
    next_seq += kSequenceSafetyJump;
  }
  std::vector<Gap> gaps = state.gaps;
  for (const Gap& g : new_gaps) {
    AddGap(gaps, g, /*extend_last=*/false);
  }
  if (state_dirty || next_seq != state.next_seq || gaps != state.gaps) {
    // The gaps must be durable before the files they stand for disappear.
    VIGIL_RETURN_IF_ERROR(spool->WriteState(next_seq, gaps));
  }
  for (uint64_t seq : to_remove) {
    (void)fs.Remove(spool->BatchPath(seq));  // a leftover is found in a gap next time
  }
  spool->next_seq_ = next_seq;
  spool->gaps_ = std::move(gaps);
  rec.batches = spool->batches_.size();
  return spool;
}

Result<uint64_t> Spool::NextSequence() {
  std::lock_guard lock(mu_);
  VIGIL_CHECK(next_seq_ < UINT64_MAX);
  VIGIL_RETURN_IF_ERROR(WriteState(next_seq_ + 1, gaps_));
  return next_seq_++;
}

uint64_t Spool::NewestKnownLocked() const {
  uint64_t newest = batches_.empty() ? 0 : batches_.rbegin()->first;
  if (!gaps_.empty()) {
    newest = std::max(newest, gaps_.back().last);
  }
  return newest;
}

Status Spool::Append(uint64_t seq, std::string_view payload) {
  std::lock_guard lock(mu_);
  if (seq == 0 || seq >= next_seq_) {
    return InvalidArgument("sequence " + std::to_string(seq) + " was not issued");
  }
  if (batches_.contains(seq)) {
    return AlreadyExists("sequence " + std::to_string(seq) + " is already spooled");
  }
  if (seq <= NewestKnownLocked()) {
    return FailedPrecondition("sequence " + std::to_string(seq) +
                              " is not newer than the spooled batches and gaps");
  }
  if (payload.size() > kMaxPayloadBytes || payload.size() > limits_.max_bytes) {
    return PayloadTooLarge("batch of " + std::to_string(payload.size()) +
                           " bytes exceeds the spool limit");
  }

  // Which oldest batches must go to make room.
  size_t count = batches_.size() + 1;
  uint64_t total = bytes_ + payload.size();
  std::vector<std::pair<uint64_t, uint64_t>> drop;
  for (auto it = batches_.begin();
       it != batches_.end() && (count > limits_.max_batches || total > limits_.max_bytes); ++it) {
    drop.emplace_back(*it);
    --count;
    total -= it->second;
  }

  const std::string path = BatchPath(seq);
  Status s = fs_.WriteFileAtomically(path, EncodeBatch(seq, payload));
  if (!s.ok()) {
    (void)fs_.Remove(path);  // it may have been renamed into place already
    return s;
  }
  if (!drop.empty()) {
    std::vector<Gap> gaps = gaps_;
    AddGap(gaps, Gap{drop.front().first, drop.back().first}, can_extend_last_gap_);
    s = WriteState(next_seq_, gaps);
    if (!s.ok()) {
      (void)fs_.Remove(path);
      return s;
    }
    gaps_ = std::move(gaps);
    can_extend_last_gap_ = true;
    for (const auto& [dropped_seq, size] : drop) {
      (void)fs_.Remove(BatchPath(dropped_seq));  // a leftover is found in a gap on Open
      batches_.erase(dropped_seq);
      bytes_ -= size;
    }
  }
  batches_.emplace(seq, payload.size());
  bytes_ += payload.size();
  return Status::Ok();
}

Result<std::vector<Spool::Entry>> Spool::Peek(size_t n) {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  auto it = batches_.begin();
  while (out.size() < n && it != batches_.end()) {
    const uint64_t seq = it->first;
    Result<std::string> data = fs_.ReadFile(BatchPath(seq), kBatchHeaderSize + kMaxPayloadBytes);
    if (!data && data.error().code() == ErrorCode::kUnavailable) {
      return data.error();
    }
    Result<SpoolEntry> entry =
        data ? DecodeBatch(*data) : Result<SpoolEntry>(InvalidArgument("batch file lost"));
    if (entry && entry->sequence == seq) {
      out.push_back(std::move(*entry));
      ++it;
      continue;
    }
    // Corrupted since Open (or deleted behind our back): report it, never skip silently.
    std::vector<Gap> gaps = gaps_;
    AddGap(gaps, Gap{seq, seq}, /*extend_last=*/false);
    VIGIL_RETURN_IF_ERROR(WriteState(next_seq_, gaps));
    gaps_ = std::move(gaps);
    (void)fs_.Remove(BatchPath(seq));
    bytes_ -= it->second;
    it = batches_.erase(it);
  }
  return out;
}

Result<std::optional<Spool::Entry>> Spool::Oldest() {
  VIGIL_ASSIGN_OR_RETURN(std::vector<Entry> entries, Peek(1));
  if (entries.empty()) {
    return std::optional<Entry>();
  }
  return std::optional<Entry>(std::move(entries.front()));
}

Status Spool::Ack(uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = batches_.find(seq);
  if (it == batches_.end()) {
    return Status::Ok();
  }
  VIGIL_RETURN_IF_ERROR(fs_.Remove(BatchPath(seq)));
  bytes_ -= it->second;
  batches_.erase(it);
  can_extend_last_gap_ = false;  // a delivered batch now separates the last gap from the next
  return Status::Ok();
}

std::vector<Gap> Spool::Gaps() const {
  std::lock_guard lock(mu_);
  return gaps_;
}

Status Spool::AckGaps(const std::vector<Gap>& reported) {
  std::lock_guard lock(mu_);
  std::vector<Gap> gaps;
  for (const Gap& g : gaps_) {
    Gap kept = g;
    bool forget = false;
    for (const Gap& r : reported) {
      if (r.first == kept.first && r.last >= kept.first) {
        if (r.last >= kept.last) {
          forget = true;
        } else {
          kept.first = r.last + 1;  // widened since it was reported
        }
        break;
      }
    }
    if (!forget) {
      gaps.push_back(kept);
    }
  }
  if (gaps == gaps_) {
    return Status::Ok();
  }
  VIGIL_RETURN_IF_ERROR(WriteState(next_seq_, gaps));
  if (gaps.empty() || gaps_.empty() || gaps.back().last != gaps_.back().last) {
    can_extend_last_gap_ = false;  // the last gap was reported: start a new one
  }
  gaps_ = std::move(gaps);
  return Status::Ok();
}

Result<std::vector<Gap>> Spool::TakeGaps() {
  std::vector<Gap> gaps = Gaps();
  VIGIL_RETURN_IF_ERROR(AckGaps(gaps));
  return gaps;
}

size_t Spool::size() const {
  std::lock_guard lock(mu_);
  return batches_.size();
}

uint64_t Spool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace vigil::agent
