#include "server/api/router.h"

#include <charconv>

namespace vigil::server::api {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) {
      j = path.size();
    }
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string, std::less<>>& params) {
  auto ps = Segments(pattern);
  auto xs = Segments(path);
  if (ps.size() != xs.size()) {
    return false;
  }
  // A trailing slash is a different resource.
  if (path.size() > 1 && path.back() == '/') {
    return false;
  }
  std::map<std::string, std::string, std::less<>> found;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].size() > 2 && ps[i].front() == '{' && ps[i].back() == '}') {
      found.emplace(std::string(ps[i].substr(1, ps[i].size() - 2)), std::string(xs[i]));
    } else if (ps[i] != xs[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

Result<int64_t> Ctx::IdParam(std::string_view name) const {
  auto it = params.find(name);
  int64_t v = 0;
  if (it != params.end()) {
    const std::string& s = it->second;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && v > 0 && s[0] != '0') {
      return v;
    }
  }
  return NotFound(std::string(name) + " does not name an existing resource");
}

const std::vector<std::pair<std::string, std::string>>& Ctx::QueryPairs() const {
  if (!query_cache) {
    query_cache = net::ParseQuery(req.query);
  }
  return *query_cache;
}

std::optional<std::string> Ctx::Query(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : QueryPairs()) {
    if (k == name) {
      out = v;
    }
  }
  return out;
}

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  for (const auto& r : routes_) {
    std::map<std::string, std::string, std::less<>> params;
    if (!MatchPattern(r.pattern, path, params)) {
      continue;
    }
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      m.route = &r;
      m.params = std::move(params);
      m.method_mismatch = false;
      return m;
    }
    m.method_mismatch = true;
  }
  return m;
}

}  // namespace vigil::server::api
