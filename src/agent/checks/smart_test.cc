#include "agent/checks/smart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::checks {
namespace {

namespace fs = std::filesystem;
using proto::CheckStatus;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path SmartctlDir() { return fs::path(VIGIL_FIXTURES_DIR) / "smartctl"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> FixtureFiles() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(SmartctlDir(), ec)) {
    if (e.path().extension() == ".json") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

#define SKIP_WITHOUT_FIXTURES()                                           \
  if (!fs::is_directory(SmartctlDir())) {                                 \
    GTEST_SKIP() << "no smartctl fixtures at " << SmartctlDir().string(); \
  }

// The reviewed verdict of every fixture (docs/smart-verdicts.md gives the reason of each).
struct Golden {
  const char* file;
  CheckStatus status;
};
constexpr CheckStatus kO = CheckStatus::kOk;
constexpr CheckStatus kW = CheckStatus::kWarning;
constexpr CheckStatus kC = CheckStatus::kCritical;
constexpr Golden kGolden[] = {
    {"HGST_HUS724020ALE640_28.json", kO},
    {"HITACHI_H109060SESUN600G_10.json", kO},
    {"HITACHI_H109060SESUN600G_9.json", kO},
    {"HP_73.4G_MAS3735NC_25.json", kO},
    {"Hitachi_HUA722020ALA330_29.json", kO},
    {"INTEL_SSDPE2KX080T8_1.json", kO},
    {"INTEL_SSDPE2KX080T8_3.json", kO},
    {"INTEL_SSDPE2KX080T8_4.json", kO},
    {"INTEL_SSDPE2KX080T8_5.json", kO},
    {"INTEL_SSDPE2KX080T8_6.json", kO},
    {"INTEL_SSDPE2KX080T8_7.json", kO},
    {"KXG60ZNV512G_TOSHIBA_2.json", kO},
    {"KXG60ZNV512G_TOSHIBA_8.json", kO},
    {"MB0500EBNCR_13.json", kW},
    {"MB0500EBNCR_14.json", kW},
    {"SAMSUNG_MZ7WD240HAFV-00003_21.json", kO},
    {"SAMSUNG_MZ7WD240HAFV-00003_22.json", kO},
    {"SAMSUNG_MZQLB1T9HAJR-00007_19.json", kO},
    {"SAMSUNG_MZQLB1T9HAJR-00007_20.json", kO},
    {"SAMSUNG_MZVL21T0HCLR-00B00_23.json", kO},
    {"SAMSUNG_MZVL21T0HCLR-00B00_24.json", kO},
    {"SEAGATE_ST373453LC_26.json", kW},
    {"SEAGATE_ST373453LC_27.json", kO},
    {"ST3200820AS_15.json", kO},
    {"ST3200820AS_16.json", kO},
    {"ST3500418AS_11.json", kW},
    {"ST3500418AS_12.json", kW},
    {"WDC_WD20EFRX-68EUZN0_17.json", kO},
    {"WDC_WD20EFRX-68EUZN0_18.json", kO},
    {"nvme-null-CT250P2SSD8-nvme0.json", kO},
    {"nvme-null-HUSMR7632BHP301-nvme0.json", kO},
    {"nvme-null-INTEL_MEMPEK1W032GA-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPE2KE016T8-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPE2KE020T7-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPE2KE032T8-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPE2KX010T8-nvme1.json", kO},
    {"nvme-null-INTEL_SSDPE2KX020T7-nvme6.json", kO},
    {"nvme-null-INTEL_SSDPE2KX020T8-nvme2.json", kO},
    {"nvme-null-INTEL_SSDPE2KX040T8-nvme10.json", kO},
    {"nvme-null-INTEL_SSDPE2MX450G7-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPEDKE020T7-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPEDMD016T4-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPEDMD400G4-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPEDMD800G4-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPEK1A058GA-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPF2KE032T1-nvme0.json", kO},
    {"nvme-null-INTEL_SSDPF2KX038T1-nvme5.json", kO},
    {"nvme-null-INTEL_SSDPF2KX038TZ-nvme4.json", kO},
    {"nvme-null-MTFDHAX1T6MCE-1AN1ZABYY-nvme0.json", kO},
    {"nvme-null-Micron_7300_MTFDHBE1T6TDG-nvme0.json", kO},
    {"nvme-null-Micron_7300_MTFDHBE1T9TDF-nvme0.json", kO},
    {"nvme-null-Micron_7300_MTFDHBE3T2TDG-nvme0.json", kO},
    {"nvme-null-Micron_7300_MTFDHBE3T8TDF-nvme3.json", kO},
    {"nvme-null-Micron_7300_MTFDHBE960TDF-nvme0.json", kO},
    {"nvme-null-Micron_7400_MTFDKCB1T6TFC-nvme2.json", kO},
    {"nvme-null-Micron_7400_MTFDKCB1T9TDZ-nvme10.json", kO},
    {"nvme-null-Micron_7400_MTFDKCB3T2TFC-nvme2.json", kO},
    {"nvme-null-Micron_7400_MTFDKCB3T8TDZ-nvme3.json", kO},
    {"nvme-null-Micron_7450_MTFDKCB3T8TFR-nvme6.json", kO},
    {"nvme-null-Micron_7450_MTFDKCC3T2TFS-nvme1.json", kO},
    {"nvme-null-Micron_7450_MTFDKCC3T8TFR-nvme11.json", kO},
    {"nvme-null-Micron_9300_MTFDHAL3T8TDP-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZPLJ6T4HALA-00007-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZPLL1T6HAJQ-00005-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZPLL1T6HEHP-00003-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZPLL3T2HAJQ-00005-nvme1.json", kO},
    {"nvme-null-SAMSUNG_MZPLL3T2HMLS-00003-nvme1.json", kO},
    {"nvme-null-SAMSUNG_MZQL21T9HCJR-00A07-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZQL23T8HCLS-00A07-nvme9.json", kO},
    {"nvme-null-SAMSUNG_MZQL2960HCJR-00A07-nvme0.json", kO},
    {"nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json", kC},
    {"nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json", kO},
    {"sat-Dell_Certified_Intel_S3520_Series_SSDs-SSDSCKJB240G7R-sdm.json", kO},
    {"sat-HGST_Ultrastar_7K6000-HGST_HUS726020ALE614-sda.json", kO},
    {"sat-HGST_Ultrastar_7K6000-HGST_HUS726040ALA614-sda.json", kO},
    {"sat-HGST_Ultrastar_7K6000-HGST_HUS726040ALE614-sdb.json", kO},
    {"sat-HGST_Ultrastar_7K6000-HGST_HUS726060ALE614-sdf.json", kO},
    {"sat-HGST_Ultrastar_HC310_320-HGST_HUS726T4TALE6L4-sda.json", kO},
    {"sat-HGST_Ultrastar_HC310_320-HGST_HUS728T8TALE6L4-sdd.json", kO},
    {"sat-HGST_Ultrastar_He10-HGST_HUH721008ALE604-sde.json", kO},
    {"sat-Hitachi_Deskstar_7K1000.C-Hitachi_HDS721010CLA332-sda.json", kO},
    {"sat-Hitachi_HGST_Ultrastar_7K2-HGST_HUS722T1TALA604-sdu.json", kO},
    {"sat-Hitachi_HGST_Ultrastar_7K2-HGST_HUS722T2TALA604-sdc.json", kO},
    {"sat-Hitachi_HGST_Ultrastar_7K4000-HGST_HUS724020ALA640-sdc.json", kO},
    {"sat-Hitachi_HGST_Ultrastar_7K4000-HGST_HUS724040ALA640-sda.json", kO},
    {"sat-Hitachi_Ultrastar_A7K2000-Hitachi_HUA722010CLA330-sdr.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB016T4-sdf.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB240G4-sde.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB240G6-sdf.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB240G7-sdg.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB480G4-sda.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB480G6-sda.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB480G7-sda.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB800G4-sda.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB800G6-sdb.json", kO},
    {"sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB800G7-sdh.json", kO},
    {"sat-Intel_S3520_Series_SSDs-INTEL_SSDSC2BB016T7-sdc.json", kW},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB019T7-sdq.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB019T8-sdr.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB019TZ-sdr.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB240G7-sdd.json", kW},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB240G8-sdc.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB480G7-sda.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB480G8-sdm.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB960G7-sdi.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KB960G8-sde.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSC2KG480G8-sda.json", kO},
    {"sat-Intel_S4510_S4610_S4500_S4600_Series_SSDs-INTEL_SSDSCKKB480G8-sda.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5210_MTFDDAK960QDE-sdm.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAK1T9TDS-sda.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAK240TDS-sda.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAK3T8TDS-sdc.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAK960TDS-sdi.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAV240TDS-sda.json", kO},
    {"sat-Micron_5100_Pro___52x0___5300_SSDs-Micron_5300_MTFDDAV480TDS-sda.json", kO},
    {"sat-Micron_5100___52x0___5300___5400_SSDs-Micron_5300_MTFDDAK480TDS-sda.json", kO},
    {"sat-Phison_Driven_SSDs-KINGSTON_SA400M8120G-sda.json", kO},
    {"sat-Phison_Driven_SSDs-KINGSTON_SKC400S371T-sda.json", kW},
    {"sat-Samsung_based_SSDs-SAMSUNG_MZ7L3240HCHQ-00A07-sda.json", kO},
    {"sat-Samsung_based_SSDs-SAMSUNG_MZ7LH1T9HMLT-00005-sda.json", kO},
    {"sat-Samsung_based_SSDs-SAMSUNG_MZ7LH480HAHQ-00005-sda.json", kO},
    {"sat-Seagate_Constellation_ES.3-ST1000NM0033-9ZM173-sdq.json", kO},
    {"sat-Seagate_Constellation_ES.3-ST2000NM0033-9ZM175-sde.json", kO},
    {"sat-Seagate_Constellation_ES.3-ST3000NM0033-9ZM178-sdc.json", kW},
    {"sat-Seagate_Constellation_ES_SATA-ST32000644NS-sda.json", kO},
    {"sat-Seagate_Constellation_ES_SATA_6Gb_s-ST500NM0011-sda.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST10000NM0016-1TT101-sda.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST1000NM0008-2F2100-sda.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST2000NM0008-2F3100-sdl.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST4000NM0035-1V4107-sdc.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST8000NM0016-1U3101-sds.json", kO},
    {"sat-Seagate_Enterprise_Capacity_3.5_HDD-ST8000NM0055-1RM112-sdh.json", kO},
    {"sat-Seagate_Exos_7E8-ST1000NM000A-2J3100-sdq.json", kO},
    {"sat-Seagate_Exos_7E8-ST8000NM000A-2KE101-sdi.json", kO},
    {"sat-Seagate_Exos_X16-ST16000NM001G-2KK103-sda.json", kO},
    {"sat-Silicon_Motion_based_SSDs-TS32GMTS400-sda.json", kO},
    {"sat-Toshiba_3.5_HDD_MK.002TSKB-TOSHIBA_MK1002TSKB-sdb.json", kO},
    {"sat-Toshiba_3.5_MG03ACAxxxY_Enterprise_HDD-TOSHIBA_MG03ACA100-sdv.json", kO},
    {"sat-Toshiba_MG04ACA..._Enterprise_HDD-TOSHIBA_MG04ACA200E-sdd.json", kO},
    {"sat-Toshiba_MG04ACA..._Enterprise_HDD-TOSHIBA_MG04ACA400E-sdg.json", kO},
    {"sat-Toshiba_MG05ACA..._Enterprise_Capacity_HDD-TOSHIBA_MG05ACA800E-sdw.json", kO},
    {"sat-Toshiba_MG06ACA..._Enterprise_Capacity_HDD-TOSHIBA_MG06ACA10TE-sda.json", kO},
    {"sat-Toshiba_MG06ACA..._Enterprise_Capacity_HDD-TOSHIBA_MG06ACA800E-sda.json", kO},
    {"sat-Toshiba_MG08ACA..._Enterprise_Capacity_HDD-TOSHIBA_MG08ACA16TE-sda.json", kO},
    {"sat-Toshiba_MG09ACA..._Enterprise_Capacity_HDD-TOSHIBA_MG09ACA18TE-sdd.json", kO},
    {"sat-Toshiba_X300-TOSHIBA_HDWE160-sdb.json", kO},
    {"sat-Western_Digital_RE3_Serial_ATA-WDC_WD1002FBYS-02A6B0-sdb.json", kO},
    {"sat-Western_Digital_RE3_Serial_ATA-WDC_WD5002ABYS-02B1B0-sda.json", kO},
    {"sat-Western_Digital_RE4-WDC_WD1003FBYX-01Y7B0-sda.json", kO},
    {"sat-Western_Digital_RE4-WDC_WD1003FBYZ-010FB0-sdq.json", kO},
    {"sat-Western_Digital_RE4-WDC_WD2003FYYS-02W0B1-sdi.json", kO},
    {"sat-Western_Digital_RE4-WDC_WD5003ABYX-01WERA1-sdb.json", kO},
    {"sat-Western_Digital_RE4-WDC_WD5003ABYZ-011FA0-sda.json", kO},
    {"sat-Western_Digital_Re-WDC_WD1004FBYZ-01YCBB0-sdh.json", kO},
    {"sat-Western_Digital_Re-WDC_WD2000FYYZ-01UL1B1-sdj.json", kO},
    {"sat-Western_Digital_Re-WDC_WD3000FYYZ-01UL1B1-sdc.json", kO},
    {"sat-Western_Digital_Ultrastar_DC_HC550-WDC__WUH721816ALE6L4-sdx.json", kO},
    {"sat-Western_Digital_Ultrastar_DC_HC550-WDC__WUH721818ALE6L4-sda.json", kO},
    {"sat-Western_Digital_Ultrastar_DC_HC550-WDC__WUH721818ALN604-sda.json", kO},
    {"sat-Western_Digital_Ultrastar_DC_HC550-WUH721818ALE6L4-sdd.json", kO},
    {"sat-null-Hitachi_HUA722010CLA630-sda.json", kO},
    {"sat-null-SAMSUNG_MZ7L3480HCHQ-00A07-sda.json", kO},
    {"sat-null-ST18000NM000J-2TV103-sda.json", kO},
    {"sat-null-ST8000NM017B-2TJ103-sda.json", kO},
    {"sat-null-TOSHIBA_HDWR160-sdc.json", kO},
    {"sat-null-TOSHIBA_MG04ACA100N-sdu.json", kO},
    {"sat-null-TOSHIBA_MG08ADA800E-sdo.json", kO},
    {"sat-null-WDC__WUS721010ALE6L4-sda.json", kO},
};

SmartReading MustParse(const std::string& text, const SmartCounters* previous = nullptr) {
  Result<SmartReading> r = ParseSmartctlReading(text, previous);
  EXPECT_TRUE(r.has_value()) << r.status().ToString();
  return r.has_value() ? *r : SmartReading{};
}

SmartReading Fixture(const std::string& name, const SmartCounters* previous = nullptr) {
  return MustParse(ReadFile(SmartctlDir() / name), previous);
}

std::optional<double> MetricValue(const proto::CheckResult& r, std::string_view name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) {
      return m.value;
    }
  }
  return std::nullopt;
}

// ---- every real output ----

TEST(SmartFixturesTest, EveryFixtureParses) {
  SKIP_WITHOUT_FIXTURES();
  std::vector<fs::path> files = FixtureFiles();
  ASSERT_EQ(files.size(), 168u);
  // VIGIL_SMART_VERDICTS_OUT=<file> writes "file<TAB>status<TAB>message" lines: the source of the
  // golden table and of docs/smart-verdicts.md.
  const char* out_path = std::getenv("VIGIL_SMART_VERDICTS_OUT");
  std::ofstream out;
  if (out_path != nullptr) {
    out.open(out_path);
  }
  for (const auto& f : files) {
    Result<proto::CheckResult> r = ParseSmartctl(ReadFile(f));
    ASSERT_TRUE(r.has_value()) << f.filename() << ": " << r.status().ToString();
    EXPECT_EQ(r->check, "smart");
    EXPECT_FALSE(r->target.empty()) << f.filename();
    EXPECT_FALSE(r->message.empty()) << f.filename();
    EXPECT_TRUE(r->details.contains("protocol")) << f.filename();
    EXPECT_TRUE(r->details.contains("model")) << f.filename();
    if (out.is_open()) {
      out << f.filename().string() << '\t' << proto::CheckStatusName(r->status) << '\t'
          << r->message << '\n';
    }
  }
}

TEST(SmartFixturesTest, GoldenVerdictOfEveryFixture) {
  SKIP_WITHOUT_FIXTURES();
  std::map<std::string, CheckStatus> golden;
  for (const auto& g : kGolden) {
    golden[g.file] = g.status;
  }
  std::vector<fs::path> files = FixtureFiles();
  ASSERT_EQ(golden.size(), files.size()) << "the golden table must name every fixture";
  for (const auto& f : files) {
    std::string name = f.filename().string();
    auto it = golden.find(name);
    ASSERT_NE(it, golden.end()) << name << " has no golden verdict";
    Result<proto::CheckResult> r = ParseSmartctl(ReadFile(f));
    ASSERT_TRUE(r.has_value()) << name;
    EXPECT_EQ(proto::CheckStatusName(r->status), proto::CheckStatusName(it->second))
        << name << ": " << r->message;
  }
}

TEST(SmartFixturesTest, NvmeFailureIsCriticalAndNamesTheBits) {
  SKIP_WITHOUT_FIXTURES();
  SmartReading s = Fixture("nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json");
  EXPECT_EQ(s.result.status, CheckStatus::kCritical);
  EXPECT_THAT(s.result.message, HasSubstr("FAILED"));
  EXPECT_THAT(s.result.message, HasSubstr("0x10: volatile memory backup failed"));
  EXPECT_THAT(s.result.message, HasSubstr("exit status bit 3"));
  EXPECT_EQ(s.result.details.at("protocol"), "NVMe");
  EXPECT_EQ(s.counters.media_errors, 0u);
}

TEST(SmartFixturesTest, ReallocatedSectorsWarn) {
  SKIP_WITHOUT_FIXTURES();
  SmartReading s = Fixture("ST3500418AS_12.json");
  EXPECT_EQ(s.result.status, CheckStatus::kWarning);
  EXPECT_THAT(s.result.message, HasSubstr("304 reallocated sectors"));
  EXPECT_EQ(s.counters.reallocated, 304u);
  EXPECT_EQ(MetricValue(s.result, "smart.reallocated_sectors"), 304.0);
  EXPECT_EQ(s.result.target, "/dev/sda");
  EXPECT_EQ(s.result.details.at("model"), "ST3500418AS");
  EXPECT_EQ(s.result.details.at("serial"), "REDACTED");
  EXPECT_EQ(s.result.details.at("capacity_bytes"), "500107862016");
  EXPECT_EQ(MetricValue(s.result, "smart.power_on_hours"), 44668.0);
  EXPECT_EQ(MetricValue(s.result, "smart.temperature"), 33.0);
}

TEST(SmartFixturesTest, SeagatePackedCommandTimeoutIsNotFlagged) {
  SKIP_WITHOUT_FIXTURES();
  // Raw 17,180,131,332 = 0x4'0004'0004: three 16-bit counters, the low one is 4.
  SmartReading s = Fixture("sat-Seagate_Constellation_ES.3-ST3000NM0033-9ZM178-sdc.json");
  EXPECT_EQ(s.counters.command_timeout, 4u);
  EXPECT_THAT(s.result.message, Not(HasSubstr("command timeout")));
  SmartReading x16 = Fixture("sat-Seagate_Exos_X16-ST16000NM001G-2KK103-sda.json");
  EXPECT_EQ(x16.counters.command_timeout, 12u);
  EXPECT_EQ(x16.result.status, CheckStatus::kOk) << x16.result.message;
  SmartReading split =
      Fixture("sat-Seagate_Enterprise_Capacity_3.5_HDD-ST2000NM0008-2F3100-sdl.json");
  EXPECT_EQ(split.counters.command_timeout, 2u);
  EXPECT_EQ(split.result.status, CheckStatus::kOk) << split.result.message;
}

TEST(SmartFixturesTest, ScsiGrownDefectsWarn) {
  SKIP_WITHOUT_FIXTURES();
  SmartReading s = Fixture("SEAGATE_ST373453LC_26.json");
  EXPECT_EQ(s.result.status, CheckStatus::kWarning);
  EXPECT_THAT(s.result.message, HasSubstr("260 SCSI grown defects"));
  EXPECT_EQ(s.counters.grown_defects, 260u);
  EXPECT_EQ(s.counters.scsi_uncorrected, 536u);
  EXPECT_EQ(s.result.details.at("protocol"), "SCSI");
  EXPECT_EQ(MetricValue(s.result, "smart.temperature"), 33.0);
}

TEST(SmartFixturesTest, NvmeMetrics) {
  SKIP_WITHOUT_FIXTURES();
  SmartReading s = Fixture("nvme-null-INTEL_SSDPE2KX020T7-nvme6.json");
  EXPECT_EQ(s.result.status, CheckStatus::kOk) << s.result.message;
  EXPECT_EQ(MetricValue(s.result, "smart.percentage_used"), 75.0);
  EXPECT_EQ(MetricValue(s.result, "smart.available_spare"), 99.0);
  EXPECT_EQ(MetricValue(s.result, "smart.media_errors"), 0.0);
  EXPECT_TRUE(MetricValue(s.result, "smart.temperature").has_value());
  EXPECT_TRUE(MetricValue(s.result, "smart.power_on_hours").has_value());
}

// ---- growth ----

TEST(SmartGrowthTest, GrowthOfAFailureCounterIsCritical) {
  SKIP_WITHOUT_FIXTURES();
  SmartCounters before;
  before.reallocated = 300;
  SmartReading s = Fixture("ST3500418AS_12.json", &before);
  EXPECT_EQ(s.result.status, CheckStatus::kCritical);
  EXPECT_THAT(s.result.message, HasSubstr("reallocated sectors grew from 300 to 304"));

  SmartCounters same = Fixture("ST3500418AS_12.json").counters;
  EXPECT_EQ(Fixture("ST3500418AS_12.json", &same).result.status, CheckStatus::kWarning);

  SmartCounters defects;
  defects.grown_defects = 259;
  EXPECT_EQ(Fixture("SEAGATE_ST373453LC_26.json", &defects).result.status, CheckStatus::kCritical);
}

TEST(SmartGrowthTest, SyntheticCounters) {
  const std::string nvme = R"({"smartctl":{"exit_status":0},"device":{"name":"/dev/nvme0",
      "protocol":"NVMe"},"smart_status":{"passed":true},
      "nvme_smart_health_information_log":{"critical_warning":0,"media_errors":3,
      "available_spare":100,"available_spare_threshold":10,"percentage_used":1}})";
  EXPECT_EQ(MustParse(nvme).result.status, CheckStatus::kWarning);  // stable media errors
  SmartCounters prev;
  prev.media_errors = 2;
  SmartReading grew = MustParse(nvme, &prev);
  EXPECT_EQ(grew.result.status, CheckStatus::kCritical);
  EXPECT_THAT(grew.result.message, HasSubstr("NVMe media errors grew from 2 to 3"));
  prev.media_errors = 7;  // a counter that went down (disk replaced, reset): no growth
  EXPECT_EQ(MustParse(nvme, &prev).result.status, CheckStatus::kWarning);

  const std::string ata = R"({"smartctl":{"exit_status":0},"device":{"name":"/dev/sda",
      "protocol":"ATA"},"smart_status":{"passed":true},"ata_smart_attributes":{"table":[
      {"id":188,"name":"Command_Timeout","raw":{"value":5}}]}})";
  EXPECT_EQ(MustParse(ata).result.status, CheckStatus::kOk);
  SmartCounters timeouts;
  timeouts.command_timeout = 4;
  SmartReading t = MustParse(ata, &timeouts);
  EXPECT_EQ(t.result.status, CheckStatus::kWarning);
  EXPECT_THAT(t.result.message, HasSubstr("command timeouts grew from 4 to 5"));
}

// ---- rules on synthetic reports ----

std::string Nvme(const std::string& log_fields, const std::string& extra = "") {
  return R"({"smartctl":{"exit_status":0},"device":{"name":"/dev/nvme0","protocol":"NVMe"},
      "smart_status":{"passed":true},"nvme_smart_health_information_log":{)" +
         log_fields + "}" + extra + "}";
}

std::string Ata(const std::string& attributes, const std::string& extra = "") {
  return R"({"smartctl":{"exit_status":0},"device":{"name":"/dev/sda","protocol":"ATA"},
      "smart_status":{"passed":true},"ata_smart_attributes":{"table":[)" +
         attributes + "]}" + extra + "}";
}

TEST(SmartRulesTest, NvmeRules) {
  EXPECT_EQ(MustParse(Nvme(R"("percentage_used":89)")).result.status, CheckStatus::kOk);
  EXPECT_EQ(MustParse(Nvme(R"("percentage_used":90)")).result.status, CheckStatus::kWarning);
  EXPECT_EQ(MustParse(Nvme(R"("percentage_used":255)")).result.status, CheckStatus::kWarning);
  EXPECT_EQ(MustParse(Nvme(R"("available_spare":5,"available_spare_threshold":10)")).result.status,
            CheckStatus::kCritical);
  EXPECT_EQ(MustParse(Nvme(R"("available_spare":10,"available_spare_threshold":10)")).result.status,
            CheckStatus::kOk);
  SmartReading cw = MustParse(Nvme(R"("critical_warning":5)"));
  EXPECT_EQ(cw.result.status, CheckStatus::kCritical);
  EXPECT_THAT(cw.result.message, HasSubstr("0x05: available spare below threshold, "
                                           "NVM subsystem reliability degraded"));
  EXPECT_THAT(MustParse(Nvme(R"("critical_warning":128)")).result.message,
              HasSubstr("reserved bit 7"));
}

TEST(SmartRulesTest, AtaRules) {
  auto attr = [](int id, uint64_t raw, const char* when_failed = "") {
    return "{\"id\":" + std::to_string(id) +
           ",\"name\":\"A\",\"raw\":{\"value\":" + std::to_string(raw) + "},\"when_failed\":\"" +
           when_failed + "\"}";
  };
  EXPECT_EQ(MustParse(Ata(attr(5, 0) + "," + attr(197, 0))).result.status, CheckStatus::kOk);
  EXPECT_EQ(MustParse(Ata(attr(197, 1))).result.status, CheckStatus::kCritical);
  EXPECT_EQ(MustParse(Ata(attr(198, 2))).result.status, CheckStatus::kCritical);
  EXPECT_EQ(MustParse(Ata(attr(187, 1))).result.status, CheckStatus::kWarning);
  EXPECT_EQ(MustParse(Ata(attr(5, 8))).result.status, CheckStatus::kWarning);
  EXPECT_EQ(MustParse(Ata(attr(9, 1, "now"))).result.status, CheckStatus::kCritical);
  EXPECT_EQ(MustParse(Ata(attr(9, 1, "past"))).result.status, CheckStatus::kWarning);
  // 188 keeps its low 16 bits only.
  EXPECT_EQ(MustParse(Ata(attr(188, 0x30000))).counters.command_timeout, 0u);
}

TEST(SmartRulesTest, TemperatureLimitsAndExitBits) {
  EXPECT_EQ(MustParse(Ata("", R"(,"temperature":{"current":70,"drive_trip":68})")).result.status,
            CheckStatus::kCritical);
  EXPECT_EQ(MustParse(Ata("", R"(,"temperature":{"current":61,"op_limit_max":60})")).result.status,
            CheckStatus::kWarning);
  EXPECT_EQ(MustParse(Ata("", R"(,"temperature":{"current":-5,"op_limit_max":60})")).result.status,
            CheckStatus::kOk);
  SmartReading failing = MustParse(R"({"smartctl":{"exit_status":8},"smart_status":{"passed":true},
      "device":{"name":"/dev/sdb"}})");
  EXPECT_EQ(failing.result.status, CheckStatus::kCritical);
  // Bit 6 (error log has entries) alone is not a verdict.
  EXPECT_EQ(
      MustParse(R"({"smartctl":{"exit_status":64},"smart_status":{"passed":true}})").result.status,
      CheckStatus::kOk);
  EXPECT_EQ(
      MustParse(R"({"smartctl":{"exit_status":0},"smart_status":{"passed":false}})").result.status,
      CheckStatus::kCritical);
}

TEST(SmartRulesTest, UnknownWithoutHealthData) {
  SmartReading open_failed = MustParse(R"({"json_format_version":[1,0],"smartctl":{
      "exit_status":2,"messages":[{"string":"Smartctl open device: /dev/sdz failed: No such device",
      "severity":"error"}]},"device":{"name":"/dev/sdz"}})");
  EXPECT_EQ(open_failed.result.status, CheckStatus::kUnknown);
  EXPECT_EQ(open_failed.result.target, "/dev/sdz");
  EXPECT_THAT(open_failed.result.message, HasSubstr("No such device"));

  EXPECT_EQ(MustParse(R"({"smartctl":{"exit_status":0}})").result.status, CheckStatus::kUnknown);
  EXPECT_EQ(MustParse(R"({"smartctl":{},"smart_support":{"available":false}})").result.message,
            "the device does not support SMART");
  // Attributes without an overall verdict: unknown unless the attributes say worse.
  EXPECT_EQ(MustParse(R"({"smartctl":{},"ata_smart_attributes":{"table":[{"id":5,
      "raw":{"value":0}}]}})")
                .result.status,
            CheckStatus::kUnknown);
  EXPECT_EQ(MustParse(R"({"smartctl":{},"ata_smart_attributes":{"table":[{"id":197,
      "raw":{"value":3}}]}})")
                .result.status,
            CheckStatus::kCritical);
}

// ---- hostile input ----

TEST(SmartHostileTest, NotASmartctlReport) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  std::string deep_obj = "{\"smartctl\":";
  for (int i = 0; i < 100; ++i) {
    deep_obj += "{\"a\":";
  }
  deep_obj += "1" + std::string(101, '}');
  for (const std::string& text :
       {std::string(""), std::string("[]"), std::string("{}"), std::string("null"),
        std::string("42"), std::string("\"smartctl\""), std::string("{\"smartctl\":5}"),
        std::string("{\"smartctl\":[]}"), std::string("{\"smartctl\":{}"),
        std::string("{\"smartctl\":{},\"x\":\"\xff\xfe\"}"), deep, deep_obj,
        std::string(5 << 20, ' ')}) {
    Result<proto::CheckResult> r = ParseSmartctl(text);
    ASSERT_FALSE(r.has_value()) << text.substr(0, 60);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text.substr(0, 60);
    EXPECT_FALSE(r.error().message().empty());
  }
}

TEST(SmartHostileTest, HugeAndNegativeNumbers) {
  SmartReading huge = MustParse(Ata(
      R"({"id":5,"raw":{"value":18446744073709551615}},{"id":197,"raw":{"value":-1}},
         {"id":198,"raw":{"value":1e300}},{"id":187,"raw":{"value":-9223372036854775808}})",
      R"(,"temperature":{"current":-9223372036854775808,"drive_trip":18446744073709551615},
         "power_on_time":{"hours":-3},"user_capacity":{"bytes":1.5})"));
  EXPECT_EQ(huge.counters.reallocated, 18446744073709551615u);
  EXPECT_FALSE(huge.counters.pending.has_value());
  EXPECT_FALSE(huge.counters.offline_uncorrectable.has_value());
  EXPECT_FALSE(huge.counters.reported_uncorrect.has_value());
  EXPECT_FALSE(huge.result.details.contains("capacity_bytes"));
  EXPECT_EQ(huge.result.status, CheckStatus::kWarning);

  SmartCounters prev;
  prev.reallocated = 18446744073709551615u;
  EXPECT_EQ(MustParse(Ata(R"({"id":5,"raw":{"value":18446744073709551615}})"), &prev).result.status,
            CheckStatus::kWarning);
  SmartReading cw = MustParse(Nvme(R"("critical_warning":18446744073709551615)"));
  EXPECT_EQ(cw.result.status, CheckStatus::kCritical);
  EXPECT_THAT(cw.result.message, HasSubstr("reserved bit 63"));
  SmartReading scsi = MustParse(R"({"smartctl":{},"smart_status":{"passed":true},
      "scsi_error_counter_log":{"read":{"total_uncorrected_errors":18446744073709551615},
      "write":{"total_uncorrected_errors":18446744073709551615}}})");
  EXPECT_EQ(scsi.counters.scsi_uncorrected, 18446744073709551615u);
}

// Replaces every value of real outputs (one at a time) with values of every other type: the
// parser must return a value or kInvalidArgument, never crash or throw.
TEST(SmartHostileTest, WrongTypesInEveryField) {
  SKIP_WITHOUT_FIXTURES();
  const std::vector<nlohmann::json> hostile = {nullptr,
                                               -1,
                                               1.5,
                                               "x",
                                               nlohmann::json::array({1, "a", nullptr}),
                                               nlohmann::json::object(),
                                               18446744073709551615u};
  int parsed = 0;
  for (const char* name : {"nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json",
                           "SEAGATE_ST373453LC_26.json", "ST3500418AS_12.json"}) {
    nlohmann::json doc = nlohmann::json::parse(ReadFile(SmartctlDir() / name));
    std::vector<nlohmann::json::json_pointer> pointers;
    std::function<void(const nlohmann::json&, const nlohmann::json::json_pointer&)> walk =
        [&](const nlohmann::json& j, const nlohmann::json::json_pointer& p) {
          pointers.push_back(p);
          if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) {
              walk(it.value(), p / it.key());
            }
          } else if (j.is_array()) {
            for (size_t i = 0; i < j.size(); ++i) {
              walk(j[i], p / i);
            }
          }
        };
    walk(doc, nlohmann::json::json_pointer());
    for (const auto& p : pointers) {
      for (const auto& h : hostile) {
        nlohmann::json copy = doc;
        copy[p] = h;
        Result<SmartReading> r = ParseSmartctlReading(copy.dump());
        if (r.has_value()) {
          ++parsed;
        } else {
          EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << p.to_string();
        }
      }
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace vigil::checks
