#include "run_env.h"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <utility>

namespace usnet::tool {
namespace {

std::string name_of(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

}  // namespace

std::vector<std::string> run_environment(const std::vector<std::string>& base, const RunEnv& e) {
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"USNET_TAP", e.tap},
      {"USNET_ADDR", e.addr},
      {"USNET_GATEWAY", e.gateway},
      {"USNET_MAC", e.mac},
      {"USNET_MTU", std::to_string(e.mtu)},
      {"USNET_TAP_GRO", e.tap_gro ? "1" : ""},
      {"USNET_LOOPBACK", e.loopback},
      {"USNET_TRACE", e.trace ? "1" : ""},
      {"USNET_PCAP", e.pcap},
      {"USNET_COUNTERS", e.counters},
      {"USNET_SYSCTL", e.sysctl},
      {"USNET_SYSCTL_FILE", e.sysctl_file},
  };
  std::vector<std::string> out;
  std::string old_preload;
  for (const std::string& entry : base) {
    const std::string name = name_of(entry);
    if (name == "LD_PRELOAD") {
      old_preload = entry.substr(entry.find('=') + 1);
      continue;
    }
    bool replaced = false;
    for (const auto& [n, v] : ours)
      replaced = replaced || n == name;
    if (!replaced) out.push_back(entry);
  }
  for (const auto& [n, v] : ours) {
    if (v.empty()) continue;
    std::string entry = n;
    entry.append(1, '=').append(v);
    out.push_back(std::move(entry));
  }
  // ld.so(8): LD_PRELOAD entries are separated by spaces or colons.
  std::string preload = e.preload;
  std::string word;
  for (char c : old_preload + ":") {
    if (c == ':' || c == ' ') {
      if (!word.empty() && word != e.preload) preload += ":" + word;
      word.clear();
    } else {
      word += c;
    }
  }
  out.push_back("LD_PRELOAD=" + preload);
  return out;
}

std::string find_preload_library(const std::string& override_path, const std::string& exe,
                                 const std::string& libdir_rel, const std::string& build_rel) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!override_path.empty()) {
    const fs::path p = fs::absolute(override_path, ec);
    return !ec && fs::is_regular_file(p, ec) ? p.lexically_normal().string() : std::string();
  }
  const fs::path dir = fs::path(exe).parent_path();
  for (const fs::path& candidate : {dir / libdir_rel / "libusnet_preload.so", dir / build_rel}) {
    if (fs::is_regular_file(candidate, ec)) return candidate.lexically_normal().string();
  }
  return {};
}

}  // namespace usnet::tool
