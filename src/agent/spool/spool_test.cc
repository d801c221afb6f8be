#include "agent/spool/spool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/spool/file_system.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vigil_spool_XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    dir_ = root_ + "/spool";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<Spool> OpenSpool(FileSystem& fs, SpoolLimits limits = {}) {
    auto spool = Spool::Open(fs, dir_, limits);
    EXPECT_TRUE(spool.has_value()) << spool.status().ToString();
    return spool ? std::move(*spool) : nullptr;
  }
  std::unique_ptr<Spool> OpenSpool(SpoolLimits limits = {}) { return OpenSpool(real_, limits); }

  // Issues a sequence and appends "batch-<seq>"; returns the sequence.
  static uint64_t AppendNext(Spool& spool, std::string payload = "") {
    auto seq = spool.NextSequence();
    EXPECT_TRUE(seq.has_value());
    if (payload.empty()) {
      payload = "batch-" + std::to_string(*seq);
    }
    Status s = spool.Append(*seq, payload);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return *seq;
  }

  static std::vector<uint64_t> Sequences(Spool& spool) {
    auto entries = spool.Peek(1000);
    EXPECT_TRUE(entries.has_value());
    std::vector<uint64_t> out;
    for (const auto& e : entries.value_or(std::vector<SpoolEntry>{})) {
      out.push_back(e.sequence);
    }
    return out;
  }

  std::vector<std::string> BatchFiles() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (ParseBatchFileName(e.path().filename().string())) {
        out.push_back(e.path().filename().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  RealFileSystem real_;
  std::string root_;
  std::string dir_;
};

TEST(SpoolFormatTest, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xCBF43926u);
}

TEST(SpoolFormatTest, BatchAndStateRoundTrip) {
  auto entry = DecodeBatch(EncodeBatch(42, std::string("a\0b", 3)));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(*entry, (SpoolEntry{42, std::string("a\0b", 3)}));

  SpoolState state{7, {{1, 2}, {4, 6}}};
  auto decoded = DecodeState(EncodeState(state));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->next_seq, 7u);
  EXPECT_EQ(decoded->gaps, state.gaps);

  std::string bad = EncodeBatch(42, "payload");
  bad[10] ^= 1;
  EXPECT_EQ(DecodeBatch(bad).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeBatch("VGSB").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DecodeState(EncodeState(SpoolState{7, {{4, 6}, {1, 2}}})).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST(SpoolFormatTest, BatchFileNames) {
  EXPECT_EQ(BatchFileName(42), "00000000000000000042.batch");
  EXPECT_EQ(ParseBatchFileName("00000000000000000042.batch"), 42u);
  EXPECT_EQ(ParseBatchFileName(BatchFileName(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(ParseBatchFileName("99999999999999999999.batch"), std::nullopt);  // > 2^64
  EXPECT_EQ(ParseBatchFileName("00000000000000000000.batch"), std::nullopt);
  EXPECT_EQ(ParseBatchFileName("0000000000000000004.batch"), std::nullopt);
  EXPECT_EQ(ParseBatchFileName("-0000000000000000042.batch"), std::nullopt);
  EXPECT_EQ(ParseBatchFileName("00000000000000000042.batch.tmp"), std::nullopt);
}

TEST_F(SpoolTest, AppendPeekAckInOrder) {
  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->size(), 0u);
  auto none = spool->Oldest();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());

  for (int i = 0; i < 3; ++i) {
    AppendNext(*spool);
  }
  EXPECT_EQ(spool->size(), 3u);
  EXPECT_EQ(spool->bytes(), 3u * 7);
  auto peek = spool->Peek(2);
  ASSERT_TRUE(peek.has_value());
  EXPECT_THAT(*peek, ElementsAre(SpoolEntry{1, "batch-1"}, SpoolEntry{2, "batch-2"}));

  ASSERT_TRUE(spool->Ack(1).ok());
  auto oldest = spool->Oldest();
  ASSERT_TRUE(oldest.has_value());
  ASSERT_TRUE(oldest->has_value());
  EXPECT_EQ(**oldest, (SpoolEntry{2, "batch-2"}));
  ASSERT_TRUE(spool->Ack(3).ok());  // out of order is fine
  EXPECT_THAT(Sequences(*spool), ElementsAre(2));
  EXPECT_EQ(spool->bytes(), 7u);
  EXPECT_THAT(spool->Gaps(), IsEmpty());
}

TEST_F(SpoolTest, AckIsIdempotentAndUnknownSequencesAreOk) {
  auto spool = OpenSpool();
  uint64_t seq = AppendNext(*spool);
  EXPECT_TRUE(spool->Ack(seq).ok());
  EXPECT_TRUE(spool->Ack(seq).ok());
  EXPECT_TRUE(spool->Ack(12345).ok());
  EXPECT_TRUE(spool->Ack(0).ok());
  EXPECT_EQ(spool->size(), 0u);
  EXPECT_THAT(BatchFiles(), IsEmpty());
}

TEST_F(SpoolTest, AppendRejectsBadSequencesAndPayloads) {
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 100, .max_batches = 10});
  EXPECT_EQ(spool->Append(0, "x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(spool->Append(1, "x").code(), ErrorCode::kInvalidArgument);  // not issued
  uint64_t a = *spool->NextSequence();
  uint64_t b = *spool->NextSequence();
  ASSERT_TRUE(spool->Append(b, "x").ok());
  EXPECT_EQ(spool->Append(b, "x").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(spool->Append(a, "x").code(), ErrorCode::kFailedPrecondition);  // out of order
  uint64_t c = *spool->NextSequence();
  EXPECT_EQ(spool->Append(c, std::string(101, 'x')).code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(spool->Append(c, std::string(100, 'x')).ok());
}

TEST_F(SpoolTest, RestartRecoversBatchesAndAcks) {
  {
    auto spool = OpenSpool();
    for (int i = 0; i < 5; ++i) {
      AppendNext(*spool);
    }
    ASSERT_TRUE(spool->Ack(1).ok());
    ASSERT_TRUE(spool->Ack(4).ok());
  }
  auto spool = OpenSpool();
  EXPECT_THAT(Sequences(*spool), ElementsAre(2, 3, 5));
  EXPECT_EQ(spool->bytes(), 3u * 7);
  auto oldest = spool->Oldest();
  EXPECT_EQ(**oldest, (SpoolEntry{2, "batch-2"}));
  EXPECT_EQ(spool->recovery().batches, 3u);
  EXPECT_EQ(spool->recovery().corrupt_removed, 0u);
  EXPECT_FALSE(spool->recovery().state_reset);
  EXPECT_THAT(spool->Gaps(), IsEmpty());
}

TEST_F(SpoolTest, NextSequenceStrictlyIncreasesAcrossRestarts) {
  uint64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    auto spool = OpenSpool();
    for (int i = 0; i < 3; ++i) {
      auto seq = spool->NextSequence();
      ASSERT_TRUE(seq.has_value());
      EXPECT_GT(*seq, last);
      last = *seq;
    }
    if (run == 1) {
      ASSERT_TRUE(spool->Append(last, "x").ok());
      ASSERT_TRUE(spool->Ack(last).ok());  // acked and gone: still never reissued
    }
  }
  EXPECT_EQ(last, 9u);
}

TEST_F(SpoolTest, MissingStateFileMakesSequencesJumpInsteadOfRepeating) {
  {
    auto spool = OpenSpool();
    for (int i = 0; i < 3; ++i) {
      AppendNext(*spool);
    }
  }
  fs::remove(dir_ + "/spool.state");
  auto spool = OpenSpool();
  EXPECT_TRUE(spool->recovery().state_reset);
  EXPECT_THAT(Sequences(*spool), ElementsAre(1, 2, 3));
  EXPECT_EQ(*spool->NextSequence(), 4 + kSequenceSafetyJump);
}

TEST_F(SpoolTest, CountLimitDropsTheOldestAndRecordsExactlyThatRange) {
  {
    auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 3});
    for (int i = 0; i < 5; ++i) {
      AppendNext(*spool);
    }
    EXPECT_THAT(Sequences(*spool), ElementsAre(3, 4, 5));
    EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 2}));  // consecutive drops widen one gap
    EXPECT_EQ(BatchFiles().size(), 3u);
  }
  // The gap report survives a restart until it is acknowledged.
  {
    auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 3});
    EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 2}));
    EXPECT_THAT(Sequences(*spool), ElementsAre(3, 4, 5));
    auto gaps = spool->Gaps();
    ASSERT_TRUE(spool->AckGaps(gaps).ok());
    EXPECT_THAT(spool->Gaps(), IsEmpty());
  }
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 3});
  EXPECT_THAT(spool->Gaps(), IsEmpty());
  EXPECT_EQ(*spool->NextSequence(), 6u);
}

TEST_F(SpoolTest, ByteLimitDropsAsManyOldBatchesAsNeeded) {
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 30, .max_batches = 100});
  AppendNext(*spool, std::string(10, 'a'));  // 1
  AppendNext(*spool, std::string(10, 'b'));  // 2
  AppendNext(*spool, std::string(10, 'c'));  // 3
  EXPECT_THAT(spool->Gaps(), IsEmpty());
  AppendNext(*spool, std::string(25, 'd'));  // 4: needs 1, 2 and 3 gone
  EXPECT_THAT(Sequences(*spool), ElementsAre(4));
  EXPECT_EQ(spool->bytes(), 25u);
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 3}));
}

TEST_F(SpoolTest, AnAckBetweenDropsStartsANewGap) {
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 2});
  for (int i = 0; i < 3; ++i) {
    AppendNext(*spool);  // 1 dropped
  }
  ASSERT_TRUE(spool->Ack(2).ok());  // delivered
  AppendNext(*spool);               // 4: fits
  AppendNext(*spool);               // 5: drops 3
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 1}, Gap{3, 3}));
  auto taken = spool->TakeGaps();
  ASSERT_TRUE(taken.has_value());
  EXPECT_THAT(*taken, ElementsAre(Gap{1, 1}, Gap{3, 3}));
  EXPECT_THAT(spool->Gaps(), IsEmpty());
}

TEST_F(SpoolTest, AckingAGapThatWidenedSinceKeepsTheNewPart) {
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 1});
  AppendNext(*spool);
  AppendNext(*spool);  // drops 1
  auto reported = spool->Gaps();
  EXPECT_THAT(reported, ElementsAre(Gap{1, 1}));
  AppendNext(*spool);  // drops 2: widens to {1, 2}
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 2}));
  ASSERT_TRUE(spool->AckGaps(reported).ok());
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{2, 2}));
}

TEST_F(SpoolTest, ShrunkLimitsOnOpenDropTheOldestAsAGap) {
  {
    auto spool = OpenSpool();
    for (int i = 0; i < 4; ++i) {
      AppendNext(*spool);
    }
  }
  auto spool = OpenSpool(SpoolLimits{.max_bytes = 1 << 20, .max_batches = 2});
  EXPECT_THAT(Sequences(*spool), ElementsAre(3, 4));
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 2}));
  EXPECT_EQ(BatchFiles().size(), 2u);
}

TEST_F(SpoolTest, TornLastFileIsRemovedAndReportedAsAGap) {
  FaultyFileSystem faulty(real_);
  {
    auto spool = OpenSpool(faulty);
    AppendNext(*spool);
    AppendNext(*spool);
    AppendNext(*spool);
    ASSERT_TRUE(faulty.TruncateLastWritten(kBatchHeaderSize + 2).ok());
  }
  auto spool = OpenSpool();
  EXPECT_THAT(Sequences(*spool), ElementsAre(1, 2));
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{3, 3}));
  EXPECT_EQ(spool->recovery().corrupt_removed, 1u);
  EXPECT_EQ(BatchFiles().size(), 2u);
  EXPECT_EQ(*spool->NextSequence(), 4u);

  // Truncated inside the header, too.
  ASSERT_TRUE(spool->Append(4, "x").ok());
  spool.reset();
  fs::resize_file(dir_ + "/" + BatchFileName(4), 5);
  spool = OpenSpool();
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{3, 4}));
}

TEST_F(SpoolTest, CorruptChecksumIsRemovedAndReportedAsAGap) {
  FaultyFileSystem faulty(real_);
  {
    auto spool = OpenSpool(faulty);
    AppendNext(*spool);
    AppendNext(*spool);
    ASSERT_TRUE(faulty.CorruptLastWritten(kBatchHeaderSize + 3).ok());
  }
  auto spool = OpenSpool();
  EXPECT_THAT(Sequences(*spool), ElementsAre(1));
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{2, 2}));
  // The gap outlives another restart.
  spool = OpenSpool();
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{2, 2}));
}

TEST_F(SpoolTest, CorruptionAfterOpenIsReportedByPeek) {
  auto spool = OpenSpool();
  AppendNext(*spool);
  AppendNext(*spool);
  {
    std::ofstream out(dir_ + "/" + BatchFileName(1), std::ios::binary | std::ios::trunc);
    out << "garbage";
  }
  EXPECT_THAT(Sequences(*spool), ElementsAre(2));
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 1}));
  EXPECT_EQ(spool->size(), 1u);
}

class SpoolFaultTest : public SpoolTest, public ::testing::WithParamInterface<FsOp> {};

TEST_P(SpoolFaultTest, FailedAppendLeavesTheSpoolUnchanged) {
  FaultyFileSystem faulty(real_);
  auto spool = OpenSpool(faulty);
  AppendNext(*spool);
  uint64_t seq = *spool->NextSequence();
  const uint64_t injected = faulty.injected_failures();
  faulty.FailOp(GetParam());
  Status s = spool->Append(seq, "lost");
  faulty.ClearFaults();
  EXPECT_EQ(faulty.injected_failures(), injected + 1);
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.ToString();
  EXPECT_EQ(spool->size(), 1u);
  EXPECT_EQ(spool->bytes(), 7u);
  EXPECT_THAT(Sequences(*spool), ElementsAre(1));
  EXPECT_THAT(BatchFiles(), ElementsAre(BatchFileName(1)));

  // Not half there after a restart either, and the sequence may be retried.
  spool = OpenSpool();
  EXPECT_THAT(Sequences(*spool), ElementsAre(1));
  EXPECT_THAT(spool->Gaps(), IsEmpty());
  EXPECT_EQ(spool->recovery().corrupt_removed, 0u);
  EXPECT_TRUE(spool->Append(seq, "retried").ok());
}

INSTANTIATE_TEST_SUITE_P(Ops, SpoolFaultTest,
                         ::testing::Values(FsOp::kWriteFile, FsOp::kSyncFile, FsOp::kRename,
                                           FsOp::kSyncDir),
                         [](const auto& param_info) {
                           return std::string(FsOpName(param_info.param));
                         });

TEST_F(SpoolTest, FailedGapWriteLeavesTheFullSpoolUnchanged) {
  FaultyFileSystem faulty(real_);
  auto spool = OpenSpool(faulty, SpoolLimits{.max_bytes = 1 << 20, .max_batches = 2});
  AppendNext(*spool);
  AppendNext(*spool);
  uint64_t seq = *spool->NextSequence();
  // Call 1-4 write the batch (write, fsync, rename, fsync dir); call 5 writes the state's tmp.
  faulty.FailNthCall(5);
  EXPECT_EQ(spool->Append(seq, "x").code(), ErrorCode::kUnavailable);
  EXPECT_THAT(Sequences(*spool), ElementsAre(1, 2));
  EXPECT_THAT(spool->Gaps(), IsEmpty());
  EXPECT_THAT(BatchFiles(), ElementsAre(BatchFileName(1), BatchFileName(2)));
}

TEST_F(SpoolTest, FailedNextSequenceIssuesNothingAndNeverRepeats) {
  FaultyFileSystem faulty(real_);
  auto spool = OpenSpool(faulty);
  EXPECT_EQ(*spool->NextSequence(), 1u);
  faulty.FailOp(FsOp::kRename);
  EXPECT_EQ(spool->NextSequence().error().code(), ErrorCode::kUnavailable);
  faulty.ClearFaults();
  EXPECT_EQ(*spool->NextSequence(), 2u);
  spool = OpenSpool();
  EXPECT_EQ(*spool->NextSequence(), 3u);
}

TEST_F(SpoolTest, FailedAckKeepsTheBatch) {
  FaultyFileSystem faulty(real_);
  auto spool = OpenSpool(faulty);
  AppendNext(*spool);
  faulty.FailOp(FsOp::kRemove);
  EXPECT_EQ(spool->Ack(1).code(), ErrorCode::kUnavailable);
  faulty.ClearFaults();
  EXPECT_EQ(spool->size(), 1u);
  EXPECT_TRUE(spool->Ack(1).ok());
  EXPECT_EQ(spool->size(), 0u);
}

TEST_F(SpoolTest, OpenFailsCleanlyWhenTheDirectoryCannotBeListed) {
  FaultyFileSystem faulty(real_);
  faulty.FailOp(FsOp::kListDir);
  auto spool = Spool::Open(faulty, dir_, {});
  ASSERT_FALSE(spool.has_value());
  EXPECT_EQ(spool.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(Spool::Open(real_, "", {}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Spool::Open(real_, dir_, SpoolLimits{.max_bytes = 0, .max_batches = 1}).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(SpoolTest, CorruptFilesStayUntilTheirGapIsDurable) {
  FaultyFileSystem faulty(real_);
  {
    auto spool = OpenSpool(faulty);
    AppendNext(*spool);
    ASSERT_TRUE(faulty.CorruptLastWritten(0).ok());
  }
  faulty.FailOp(FsOp::kRename);  // the state file cannot be written
  EXPECT_EQ(Spool::Open(faulty, dir_, {}).error().code(), ErrorCode::kUnavailable);
  faulty.ClearFaults();
  EXPECT_EQ(BatchFiles().size(), 1u);
  auto spool = OpenSpool(faulty);
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{1, 1}));
  EXPECT_THAT(BatchFiles(), IsEmpty());
}

TEST_F(SpoolTest, HostileDirectoryDoesNotCrashOpen) {
  {
    auto spool = OpenSpool();
    AppendNext(*spool);
    AppendNext(*spool);
  }
  // Garbage names, a directory and a symlink where batches should be, a huge sparse batch file,
  // an empty one, a leftover temporary file.
  std::ofstream(dir_ + "/garbage") << "x";
  std::ofstream(dir_ + "/.batch") << "x";
  std::ofstream(dir_ + "/99999999999999999999.batch") << "x";
  std::ofstream(dir_ + "/0000000000000000000x.batch") << "x";
  fs::create_directory(dir_ + "/" + BatchFileName(5));
  fs::create_directory(dir_ + "/sub");
  fs::create_symlink("/etc/passwd", dir_ + "/" + BatchFileName(6));
  std::ofstream(dir_ + "/" + BatchFileName(7)).close();
  fs::resize_file(dir_ + "/" + BatchFileName(7), kMaxPayloadBytes + kBatchHeaderSize + 1);
  std::ofstream(dir_ + "/" + BatchFileName(8)).close();
  std::ofstream(dir_ + "/" + BatchFileName(9) + ".tmp") << "half";
  std::ofstream(dir_ + "/" + BatchFileName(10)) << EncodeBatch(11, "wrong seq");

  auto spool = OpenSpool();
  ASSERT_NE(spool, nullptr);
  EXPECT_THAT(Sequences(*spool), ElementsAre(1, 2));
  EXPECT_THAT(spool->Gaps(), ElementsAre(Gap{7, 8}, Gap{10, 10}));
  EXPECT_EQ(spool->recovery().corrupt_removed, 3u);
  EXPECT_EQ(spool->recovery().temp_removed, 1u);
  EXPECT_EQ(spool->recovery().ignored, 7u);
  EXPECT_GT(*spool->NextSequence(), 10u);
  EXPECT_TRUE(fs::exists(dir_ + "/garbage"));  // foreign files are left alone
  EXPECT_TRUE(fs::is_directory(dir_ + "/" + BatchFileName(5)));
}

TEST_F(SpoolTest, GarbageStateFileIsReplacedWithAJump) {
  {
    auto spool = OpenSpool();
    AppendNext(*spool);
  }
  std::ofstream(dir_ + "/spool.state", std::ios::trunc) << "not a state file";
  auto spool = OpenSpool();
  EXPECT_TRUE(spool->recovery().state_reset);
  EXPECT_THAT(Sequences(*spool), ElementsAre(1));
  EXPECT_EQ(*spool->NextSequence(), 2 + kSequenceSafetyJump);

  // A directory where the state file should be: Open reports an error, never crashes.
  spool.reset();
  fs::remove(dir_ + "/spool.state");
  fs::create_directory(dir_ + "/spool.state");
  auto reopened = Spool::Open(real_, dir_, {});
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.error().code(), ErrorCode::kUnavailable);
}

TEST_F(SpoolTest, FaultyFileSystemFailsTheNthCall) {
  FaultyFileSystem faulty(real_);
  ASSERT_TRUE(faulty.CreateDir(dir_).ok());
  faulty.FailNthCall(2);
  EXPECT_TRUE(faulty.WriteFile(dir_ + "/a", "1").ok());
  EXPECT_EQ(faulty.WriteFile(dir_ + "/b", "22").code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(faulty.WriteFile(dir_ + "/c", "3").ok());
  EXPECT_EQ(faulty.calls(), 4u);
  EXPECT_EQ(faulty.injected_failures(), 1u);
  EXPECT_EQ(*real_.ReadFile(dir_ + "/b", 100), "2");  // torn
  EXPECT_EQ(real_.ReadFile(dir_ + "/missing", 100).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(real_.ReadFile(dir_ + "/b", 0).error().code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace vigil::agent
