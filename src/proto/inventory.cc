#include "proto/inventory.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include "core/json.h"
#include "core/strings.h"

namespace vigil::proto {
namespace {

using json::Json;

constexpr size_t kMaxBytes = 1 << 20;
constexpr int kMaxDepth = 8;
constexpr size_t kMaxText = 256;
constexpr size_t kMaxDisks = 256;
constexpr size_t kMaxInterfaces = 256;
constexpr size_t kMaxAddresses = 64;
constexpr size_t kMaxUsers = 1024;
constexpr size_t kMaxErrors = 100;
constexpr int64_t kMaxCpuCores = 1 << 20;
constexpr size_t kMaxMacOctets = 32;  // InfiniBand addresses are 20 bytes

// `s` as text DecodeInventory accepts: valid UTF-8, one line, at most kMaxText characters.
std::string CleanText(std::string_view s) {
  std::string clean = SanitizeText(s, std::numeric_limits<size_t>::max(), true);
  if (Utf8CodePoints(clean) <= kMaxText) {
    return clean;
  }
  // SanitizeText may overshoot its budget by one code point plus "...": keep clear of the limit.
  return SanitizeText(clean, kMaxText - 8, true);
}

// "52:54:00:12:34:56": pairs of hex digits separated by ':'.
bool IsMac(std::string_view s) {
  if (s.size() < 2 || (s.size() + 1) % 3 != 0 || (s.size() + 1) / 3 > kMaxMacOctets) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool ok = (i % 3 == 2) ? s[i] == ':' : HexDigitValue(s[i]) >= 0;
    if (!ok) {
      return false;
    }
  }
  return true;
}

// "192.0.2.10/24" or "2001:db8::1/64" (an IPv6 zone such as "%eth0" is allowed before '/').
bool IsAddressWithPrefix(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= s.size() ||
      s.size() - slash - 1 > 3) {
    return false;
  }
  int prefix = 0;
  std::string_view digits = s.substr(slash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0) {
    return false;
  }
  std::string address(s.substr(0, slash));
  unsigned char buf[16];
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) {
    return prefix <= 32;
  }
  size_t zone = address.find('%');
  if (zone != std::string::npos) {
    if (zone + 1 >= address.size() || address.size() - zone - 1 > 64) {
      return false;
    }
    address.resize(zone);
  }
  return inet_pton(AF_INET6, address.c_str(), buf) == 1 && prefix <= 128;
}

// The fields of one JSON object, with errors (full paths) collected in a shared list.
class Fields {
 public:
  Fields(const Json& j, const std::string& path, std::vector<FieldError>& errors)
      : prefix_(path.empty() ? "" : path + "."), r_(j, prefix_), errors_(errors) {}
  ~Fields() {
    Status s = r_.Finish();
    errors_.insert(errors_.end(), s.field_errors().begin(), s.field_errors().end());
  }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  json::ObjectReader& r() { return r_; }
  std::string Path(std::string_view name) const { return prefix_ + std::string(name); }
  void Error(std::string_view name, std::string detail) {
    errors_.push_back({Path(name), std::move(detail)});
  }

  void Text(std::string_view name, std::string& out, size_t min_len = 0) {
    if (min_len > 0 && !r_.Has(name)) {
      r_.Raw(name);
      Error(name, "is required");
      return;
    }
    if (auto v = r_.OptString(name, min_len, kMaxText)) {
      out = std::move(*v);
    }
  }

  void Unsigned(std::string_view name, uint64_t& out) {
    const Json* v = r_.Raw(name);
    if (v == nullptr) {
      return;
    }
    if (v->is_number_unsigned()) {
      out = v->get<uint64_t>();
    } else if (v->is_number_integer() || v->is_number_float()) {
      Error(name, fmt::format("must be an integer from 0 to {}", UINT64_MAX));
    } else {
      Error(name, fmt::format("must be an integer, not {}", json::TypeName(*v)));
    }
  }

  // An array of at most `max_items`; nullptr (with an error) when present and something else.
  const Json* Array(std::string_view name, size_t max_items) {
    const Json* v = r_.Raw(name);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_array()) {
      Error(name, fmt::format("must be an array, not {}", json::TypeName(*v)));
      return nullptr;
    }
    if (v->size() > max_items) {
      Error(name, fmt::format("must have at most {} items", max_items));
      return nullptr;
    }
    return v;
  }

 private:
  std::string prefix_;
  json::ObjectReader r_;
  std::vector<FieldError>& errors_;
};

struct Decoder {
  std::vector<FieldError> errors;

  bool TooManyErrors() const { return errors.size() >= kMaxErrors; }

  InventoryDisk DecodeDisk(const Json& j, const std::string& path) {
    InventoryDisk d;
    Fields f(j, path, errors);
    if (j.is_object()) {
      f.Text("name", d.name, 1);
      f.Text("model", d.model);
      f.Text("serial", d.serial);
      f.Unsigned("size_bytes", d.size_bytes);
    }
    return d;
  }

  InventoryInterface DecodeInterface(const Json& j, const std::string& path) {
    InventoryInterface n;
    Fields f(j, path, errors);
    if (!j.is_object()) {
      return n;
    }
    f.Text("name", n.name, 1);
    f.Text("mac", n.mac);
    if (!n.mac.empty() && !IsMac(n.mac)) {
      f.Error("mac", "must be hexadecimal octets separated by ':' (52:54:00:12:34:56)");
    }
    if (auto addresses = f.r().OptStringArray("addresses", kMaxAddresses, 1, kMaxText)) {
      for (size_t i = 0; i < addresses->size(); ++i) {
        if (!IsAddressWithPrefix((*addresses)[i])) {
          f.Error(fmt::format("addresses[{}]", i),
                  "must be an IP address with a prefix length (192.0.2.10/24)");
        }
      }
      n.addresses = std::move(*addresses);
    }
    return n;
  }

  void DecodeRoot(const Json& j, Inventory& inv) {
    Fields f(j, "", errors);
    if (!j.is_object()) {
      return;
    }
    f.Text("hostname", inv.hostname);
    f.Text("os_name", inv.os_name);
    f.Text("os_version", inv.os_version);
    f.Text("kernel", inv.kernel);
    f.Text("architecture", inv.architecture);
    f.Text("manufacturer", inv.manufacturer);
    f.Text("model", inv.model);
    f.Text("serial", inv.serial);
    f.Text("cpu_model", inv.cpu_model);
    if (auto v = f.r().OptInt("cpu_cores", 0, kMaxCpuCores)) {
      inv.cpu_cores = static_cast<int>(*v);
    }
    f.Unsigned("memory_bytes", inv.memory_bytes);
    if (auto v = f.r().OptInt("package_count", 0, std::numeric_limits<int64_t>::max())) {
      inv.package_count = *v;
    }
    if (!f.r().TakeNull("last_boot")) {
      if (auto boot = f.r().OptString("last_boot", 1, 64)) {
        if (auto t = ParseRfc3339(*boot)) {
          inv.last_boot = *t;
        } else {
          f.Error("last_boot", "must be an RFC 3339 time such as 2026-11-22T19:53:03.120Z");
        }
      }
    }
    if (const Json* disks = f.Array("disks", kMaxDisks)) {
      for (size_t i = 0; i < disks->size() && !TooManyErrors(); ++i) {
        inv.disks.push_back(DecodeDisk((*disks)[i], fmt::format("disks[{}]", i)));
      }
    }
    if (const Json* interfaces = f.Array("interfaces", kMaxInterfaces)) {
      for (size_t i = 0; i < interfaces->size() && !TooManyErrors(); ++i) {
        inv.interfaces.push_back(
            DecodeInterface((*interfaces)[i], fmt::format("interfaces[{}]", i)));
      }
    }
    if (auto users = f.r().OptStringArray("users", kMaxUsers, 1, kMaxText)) {
      inv.users = std::move(*users);
    }
  }
};

}  // namespace

std::string EncodeInventory(const Inventory& inv) {
  Json disks = Json::array();
  for (size_t i = 0; i < inv.disks.size() && i < kMaxDisks; ++i) {
    const InventoryDisk& d = inv.disks[i];
    disks.push_back({{"name", CleanText(d.name)},
                     {"model", CleanText(d.model)},
                     {"serial", CleanText(d.serial)},
                     {"size_bytes", d.size_bytes}});
  }
  Json interfaces = Json::array();
  for (size_t i = 0; i < inv.interfaces.size() && i < kMaxInterfaces; ++i) {
    const InventoryInterface& n = inv.interfaces[i];
    Json addresses = Json::array();
    for (size_t k = 0; k < n.addresses.size() && k < kMaxAddresses; ++k) {
      addresses.push_back(CleanText(n.addresses[k]));
    }
    interfaces.push_back(
        {{"name", CleanText(n.name)}, {"mac", CleanText(n.mac)}, {"addresses", addresses}});
  }
  Json users = Json::array();
  for (size_t i = 0; i < inv.users.size() && i < kMaxUsers; ++i) {
    users.push_back(CleanText(inv.users[i]));
  }
  Json last_boot = nullptr;
  if (inv.last_boot) {
    std::string t = FormatRfc3339(*inv.last_boot);
    if (ParseRfc3339(t)) {  // years outside 1900..9999 are not representable
      last_boot = std::move(t);
    }
  }
  Json j = {{"hostname", CleanText(inv.hostname)},
            {"os_name", CleanText(inv.os_name)},
            {"os_version", CleanText(inv.os_version)},
            {"kernel", CleanText(inv.kernel)},
            {"architecture", CleanText(inv.architecture)},
            {"manufacturer", CleanText(inv.manufacturer)},
            {"model", CleanText(inv.model)},
            {"serial", CleanText(inv.serial)},
            {"cpu_model", CleanText(inv.cpu_model)},
            {"cpu_cores", std::clamp<int64_t>(inv.cpu_cores, 0, kMaxCpuCores)},
            {"memory_bytes", inv.memory_bytes},
            {"disks", std::move(disks)},
            {"interfaces", std::move(interfaces)},
            {"package_count", std::max<int64_t>(inv.package_count, 0)},
            {"last_boot", std::move(last_boot)},
            {"users", std::move(users)}};
  return j.dump();
}

Result<Inventory> DecodeInventory(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(Json j,
                         json::Parse(text, {.max_bytes = kMaxBytes, .max_depth = kMaxDepth}));
  Inventory inv;
  Decoder d;
  d.DecodeRoot(j, inv);
  if (d.errors.empty()) {
    return inv;
  }
  return FieldsInvalid(std::move(d.errors));
}

}  // namespace vigil::proto
