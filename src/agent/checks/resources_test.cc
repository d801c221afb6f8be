#include "agent/checks/resources.h"
#include "agent/checks/test_util.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::checks {
namespace {

using namespace vigil::checks::testing;  // NOLINT: test helpers

using proto::CheckStatus;

// --- /proc/stat ---

TEST(ProcStatTest, ParsesTheAggregateLine) {
  auto t = ParseProcStatCpu(
      "cpu  1271236 6590 314250 581844 5719 0 4804 7 3 0\n"
      "cpu0 642784 3728 154091 287733 1801 0 1488 0 0 0\nintr 1 2 3\n");
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(t->user, 1271236u);
  EXPECT_EQ(t->idle, 581844u);
  EXPECT_EQ(t->steal, 7u);
  EXPECT_EQ(t->Total(), 1271236u + 6590 + 314250 + 581844 + 5719 + 0 + 4804 + 7);
}

TEST(ProcStatTest, OldKernelsWithFourCounters) {
  auto t = ParseProcStatCpu("cpu 10 0 5 85\n");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->Total(), 100u);
  EXPECT_EQ(t->iowait, 0u);
}

TEST(ProcStatTest, RefusesMalformed) {
  EXPECT_FALSE(ParseProcStatCpu("").has_value());
  EXPECT_FALSE(ParseProcStatCpu("cpu0 1 2 3 4\n").has_value());  // no aggregate line
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 3\n").has_value());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 x 4\n").has_value());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 -3 4\n").has_value());
  EXPECT_FALSE(ParseProcStatCpu("cpu 1 2 3 99999999999999999999999\n").has_value());
  EXPECT_EQ(ParseProcStatCpu(std::string(kMaxProcFileBytes + 1, 'c')).error().code(),
            ErrorCode::kPayloadTooLarge);
}

TEST(ProcStatTest, HugeCountersDoNotWrap) {
  auto t =
      ParseProcStatCpu("cpu 18446744073709551615 18446744073709551615 18446744073709551615 1\n");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->Total(), 18446744073709551615u);
}

TEST(CpuUsageTest, BusyExcludesIdleIowaitAndSteal) {
  CpuTimes a{100, 0, 100, 1000, 0, 0, 0, 0};
  CpuTimes b = a;
  b.user += 40;
  b.system += 10;
  b.idle += 20;
  b.iowait += 10;
  b.steal += 20;  // 100 ticks in all
  auto u = ComputeCpuUsage(a, b);
  ASSERT_TRUE(u.has_value());
  EXPECT_DOUBLE_EQ(u->busy_percent, 50);
  EXPECT_DOUBLE_EQ(u->iowait_percent, 10);
  EXPECT_DOUBLE_EQ(u->steal_percent, 20);
}

TEST(CpuUsageTest, NoTimeOrCountersGoingBackwards) {
  CpuTimes a{100, 0, 100, 1000, 0, 0, 0, 0};
  EXPECT_FALSE(ComputeCpuUsage(a, a).has_value());
  CpuTimes b = a;
  b.idle -= 1;
  b.user += 100;
  EXPECT_FALSE(ComputeCpuUsage(a, b).has_value());
}

TEST(CpuEvaluateTest, Thresholds) {
  proto::PercentThresholds t{90, 98};
  auto ok = EvaluateCpu({12.34, 1, 0}, LoadAverage{0.5, 0.25, 0.1}, t);
  EXPECT_EQ(ok.check, "cpu");
  EXPECT_EQ(ok.status, CheckStatus::kOk);
  EXPECT_EQ(ok.message, "CPU 12.3% busy, load 0.50 0.25 0.10");
  const auto* m = FindMetric(ok, "cpu.busy_percent");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->unit, "%");
  EXPECT_EQ(m->warn, 90);
  EXPECT_EQ(m->crit, 98);
  EXPECT_NE(FindMetric(ok, "cpu.load15"), nullptr);
  EXPECT_EQ(EvaluateCpu({90, 0, 0}, std::nullopt, t).status, CheckStatus::kWarning);
  auto crit = EvaluateCpu({99, 0, 0}, std::nullopt, t);
  EXPECT_EQ(crit.status, CheckStatus::kCritical);
  EXPECT_EQ(crit.message, "CPU 99% busy (critical at 98%)");
}

// --- /proc/loadavg ---

TEST(LoadavgTest, ParsesAndRefuses) {
  auto l = ParseLoadavg("0.69 1.05 1.36 3/96 17782\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(l->load1, 0.69);
  EXPECT_DOUBLE_EQ(l->load15, 1.36);
  EXPECT_FALSE(ParseLoadavg("").has_value());
  EXPECT_FALSE(ParseLoadavg("0.1 0.2\n").has_value());
  EXPECT_FALSE(ParseLoadavg("0.1 nan 0.3\n").has_value());
  EXPECT_FALSE(ParseLoadavg("0.1 -1 0.3\n").has_value());
  EXPECT_FALSE(ParseLoadavg("0.1 1e999 0.3\n").has_value());
}

// --- /proc/meminfo ---

constexpr std::string_view kMeminfo =
    "MemTotal:        1000000 kB\n"
    "MemFree:          100000 kB\n"
    "MemAvailable:     250000 kB\n"
    "Buffers:           10000 kB\n"
    "Cached:            40000 kB\n"
    "SwapCached:            0 kB\n"
    "SwapTotal:        200000 kB\n"
    "SwapFree:          50000 kB\n"
    "HugePages_Total:       0\n";

TEST(MeminfoTest, Parses) {
  auto m = ParseMeminfo(kMeminfo);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->total_bytes, 1000000u * 1024);
  EXPECT_EQ(m->available_bytes, 250000u * 1024);
  EXPECT_FALSE(m->available_estimated);
  EXPECT_EQ(m->swap_total_bytes, 200000u * 1024);
  EXPECT_EQ(m->swap_free_bytes, 50000u * 1024);
  auto r = EvaluateMemory(*m, {70, 80});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "memory 75% used, 244 MiB of 976 MiB available (warning at 70%)");
  auto s = EvaluateSwap(*m, {50, 75});
  EXPECT_EQ(s.status, CheckStatus::kCritical);
  EXPECT_EQ(s.message, "swap 75% used of 195 MiB (critical at 75%)");
}

TEST(MeminfoTest, FallsBackWithoutMemAvailable) {
  auto m = ParseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->available_estimated);
  EXPECT_EQ(m->available_bytes, 400u * 1024);
  EXPECT_EQ(m->swap_total_bytes, 0u);
  auto r = EvaluateMemory(*m, {90, 95});
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.details.count("available"), 1u);
  auto s = EvaluateSwap(*m, {50, 80});
  EXPECT_EQ(s.status, CheckStatus::kOk);
  EXPECT_EQ(s.message, "no swap configured");
}

TEST(MeminfoTest, RefusesMalformedAndClamps) {
  EXPECT_FALSE(ParseMeminfo("").has_value());
  EXPECT_FALSE(ParseMeminfo("MemFree: 10 kB\n").has_value());
  EXPECT_FALSE(ParseMeminfo("MemTotal: 0 kB\nMemFree: 0 kB\n").has_value());
  EXPECT_FALSE(ParseMeminfo("MemTotal: 10 kB\n").has_value());  // no free/available
  EXPECT_FALSE(ParseMeminfo("MemTotal: x kB\nMemFree: 1 kB\n").has_value());
  EXPECT_FALSE(ParseMeminfo("MemTotal: 10 MB\nMemFree: 1 kB\n").has_value());
  EXPECT_FALSE(ParseMeminfo("MemTotal: 18446744073709551615 kB\nMemFree: 1 kB\n").has_value());
  // More available than total (a broken lxcfs): clamped, never a negative percentage.
  auto m = ParseMeminfo("MemTotal: 10 kB\nMemAvailable: 20 kB\nSwapTotal: 5 kB\nSwapFree: 9 kB\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->available_bytes, m->total_bytes);
  EXPECT_EQ(m->swap_free_bytes, m->swap_total_bytes);
  EXPECT_EQ(FindMetric(EvaluateMemory(*m, {90, 95}), "memory.used_percent")->value, 0);
}

// --- mounts ---

constexpr std::string_view kMounts =
    "proc /proc proc rw,relatime 0 0\n"
    "sysfs /sys sysfs rw,nosuid 0 0\n"
    "tmpfs /run tmpfs rw 0 0\n"
    "tmpfs /tmp tmpfs rw 0 0\n"
    "/dev/sda2 / ext4 rw,relatime 0 0\n"
    "/dev/sda1 /boot/efi vfat rw 0 0\n"
    "/dev/sdb1 /srv/my\\040data xfs ro,noatime 0 0\n"
    "/dev/sdb1 /var/lib/bind\\040copy xfs rw 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
    "/dev/loop3 /snap/core/123 squashfs ro 0 0\n"
    "nas:/export /mnt/nas nfs4 rw 0 0\n"
    "//fs/share /mnt/share cifs rw 0 0\n"
    "overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0\n"
    "garbage line\n"
    "/dev/sdc1 relative ext4 rw 0 0\n";

TEST(MountsTest, ParsesEscapesAndReadOnly) {
  auto m = ParseMounts(kMounts);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->size(), 13u);  // the garbage line and the relative mount point are skipped
  EXPECT_EQ((*m)[6].mount_point, "/srv/my data");
  EXPECT_TRUE((*m)[6].read_only);
  EXPECT_FALSE((*m)[4].read_only);
}

TEST(MountsTest, KeepsRealFileSystemsOncePerDevice) {
  auto m = ParseMounts(kMounts);
  ASSERT_TRUE(m.has_value());
  auto real = RealFileSystems(*m, {"/boot/efi"});
  std::vector<std::string> points;
  for (const auto& e : real) {
    points.push_back(e.mount_point);
  }
  EXPECT_EQ(points, (std::vector<std::string>{"/", "/mnt/nas", "/mnt/share", "/srv/my data"}));
}

TEST(MountsTest, OverlayRootOfAContainerIsReal) {
  auto m = ParseMounts(
      "overlay / overlay rw,lowerdir=/a:/b 0 0\n/dev/vda /etc/hosts ext4 rw 0 0\n"
      "/dev/vda /etc/hostname ext4 rw 0 0\n/dev/vda /work ext4 rw 0 0\n");
  ASSERT_TRUE(m.has_value());
  auto real = RealFileSystems(*m, {});
  ASSERT_EQ(real.size(), 2u);
  EXPECT_EQ(real[0].mount_point, "/");
  EXPECT_EQ(real[1].mount_point, "/work");  // the shortest mount point of /dev/vda
}

TEST(MountsTest, HostileInput) {
  EXPECT_TRUE(ParseMounts("").has_value());
  // Bad escapes are kept literally; \000 never becomes a NUL byte.
  auto m = ParseMounts("/dev/x /a\\0b\\000\\9\\ ext4 rw 0 0\n");
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].mount_point, "/a\\0b\\000\\9\\");
  std::string many;
  for (size_t i = 0; i <= kMaxMounts; ++i) {
    many += "/dev/x /m ext4 rw 0 0\n";
  }
  EXPECT_EQ(ParseMounts(many).error().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(ParseMounts(std::string(kMaxProcFileBytes + 1, ' ')).error().code(),
            ErrorCode::kPayloadTooLarge);
}

// --- disk evaluation ---

TEST(DiskEvaluateTest, SpaceAndInodes) {
  MountEntry var{"/dev/sda3", "/var", "ext4", false};
  FsUsage u;
  u.total_bytes = 1000;
  u.free_bytes = 100;  // 900 used
  u.available_bytes = 90;
  u.total_inodes = 100;
  u.free_inodes = 50;
  auto r = EvaluateDisk(var, u, {85, 95}, {85, 95});
  EXPECT_EQ(r.check, "disk");
  EXPECT_EQ(r.target, "/var");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "/var 90.9% used (warning at 85%)");
  const auto* m = FindMetric(r, "disk./var.used_percent");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->unit, "%");
  EXPECT_EQ(m->warn, 85);
  EXPECT_EQ(m->crit, 95);
  u.free_inodes = 1;
  auto worse = EvaluateDisk(var, u, {85, 95}, {85, 95});
  EXPECT_EQ(worse.status, CheckStatus::kCritical);
  EXPECT_EQ(worse.message, "/var 90.9% used (warning at 85%), inodes 99% used (critical at 95%)");
}

TEST(DiskEvaluateTest, OddValues) {
  MountEntry odd{"/dev/x", "/my data\x01", "btrfs", true};
  FsUsage u;
  u.total_bytes = 100;
  u.free_bytes = 500;  // more free than total
  u.available_bytes = 900;
  auto r = EvaluateDisk(odd, u, {85, 95}, {85, 95});
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.target, "/my data ");
  // Metric names only use the characters batches allow.
  EXPECT_NE(FindMetric(r, "disk./my_data_.used_percent"), nullptr);
  EXPECT_EQ(FindMetric(r, "disk./my_data_.inodes_used_percent"), nullptr);  // no inodes
  EXPECT_EQ(r.details.at("read_only"), "true");
  EXPECT_EQ(EvaluateDisk(odd, FsUsage{}, {85, 95}, {85, 95}).status, CheckStatus::kUnknown);
  MountEntry longer{"/dev/x", "/" + std::string(5000, 'a'), "ext4", false};
  for (const auto& metric : EvaluateDisk(longer, u, {85, 95}, {85, 95}).metrics) {
    EXPECT_LE(metric.name.size(), 200u);
  }
}

}  // namespace
}  // namespace vigil::checks
