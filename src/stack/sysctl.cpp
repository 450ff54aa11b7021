// The sysctl names, each bound to its field and to the rules of the kernel's proc handler
// for it (kernel/sysctl.c: proc_dointvec_minmax, proc_douintvec, proc_dou8vec_minmax,
// proc_dointvec_jiffies, proc_dointvec_ms_jiffies, proc_dostring; and the special handlers
// of net/ipv4/sysctl_net_ipv4.c for ip_local_port_range and tcp_congestion_control).
#include "stack/sysctl.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <span>

#include <fmt/format.h>

namespace usnet {
namespace {

enum class Kind : std::uint8_t {
  kInt,        // proc_dointvec(_minmax): one int
  kVec,        // proc_dointvec_minmax over an array (tcp_rmem, tcp_wmem)
  kU8,         // proc_dou8vec_minmax: 0..255 unless narrower
  kUint,       // proc_douintvec: 0..UINT_MAX
  kJiffies,    // proc_dointvec_jiffies: seconds, at most INT_MAX / HZ
  kMsJiffies,  // proc_dointvec_ms_jiffies: milliseconds rounded up to a jiffy
  kPortRange,  // ipv4_local_port_range
  kPrivPorts,  // ipv4_privileged_ports
  kCongestion,
  kReadOnly,  // mode 0444
};

using IntField = std::span<int> (*)(Sysctl&);

struct Entry {
  const char* name;
  Kind kind;
  IntField ints = nullptr;
  long long min = LLONG_MIN;  // inclusive bounds (extra1/extra2), on every element
  long long max = LLONG_MAX;
};

std::span<int> one(int& v) {
  return {&v, 1};
}
template <std::size_t N>
std::span<int> one(std::array<int, N>& v) {
  return v;
}

#define F(field) [](Sysctl& s) { return one(s.field); }

constexpr long long kIntMax = INT_MAX;
// SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF: the floors of net.core.[rw]mem_{default,max}.
constexpr long long kSockMinRcvbuf = 2304;
constexpr long long kSockMinSndbuf = 4608;
// The congestion controls make_congestion_control() builds, in Linux's listing order.
constexpr std::array<std::string_view, 2> kCongestionControls = {"reno", "cubic"};
// proc_dostring's buffer for a congestion-control name (TCP_CA_NAME_MAX).
constexpr std::size_t kTcpCaNameMax = 16;

// The table, in no particular order (sysctl_names() sorts). Bounds are the kernel's
// extra1/extra2; where it has none the handler's type bounds apply.
const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = {
      {"net.core.somaxconn", Kind::kInt, F(somaxconn), 0},
      {"net.core.rmem_default", Kind::kInt, F(rmem_default), kSockMinRcvbuf},
      {"net.core.rmem_max", Kind::kInt, F(rmem_max), kSockMinRcvbuf},
      {"net.core.wmem_default", Kind::kInt, F(wmem_default), kSockMinSndbuf},
      {"net.core.wmem_max", Kind::kInt, F(wmem_max), kSockMinSndbuf},
      {"net.core.netdev_max_backlog", Kind::kInt, F(netdev_max_backlog)},
      {"net.ipv4.ip_default_ttl", Kind::kU8, F(ip_default_ttl), 1, 255},
      {"net.ipv4.ip_local_port_range", Kind::kPortRange, F(ip_local_port_range), 1, 65535},
      {"net.ipv4.ip_unprivileged_port_start", Kind::kPrivPorts, F(ip_unprivileged_port_start), 0,
       65535},
      {"net.ipv4.ip_no_pmtu_disc", Kind::kU8, F(ip_no_pmtu_disc)},
      {"net.ipv4.icmp_echo_ignore_all", Kind::kU8, F(icmp_echo_ignore_all), 0, 1},
      {"net.ipv4.icmp_echo_ignore_broadcasts", Kind::kU8, F(icmp_echo_ignore_broadcasts), 0, 1},
      {"net.ipv4.icmp_ratelimit", Kind::kMsJiffies, F(icmp_ratelimit_jiffies)},
      {"net.ipv4.icmp_msgs_per_sec", Kind::kInt, F(icmp_msgs_per_sec), 0},
      {"net.ipv4.icmp_msgs_burst", Kind::kInt, F(icmp_msgs_burst), 0},
      {"net.ipv4.tcp_rmem", Kind::kVec, F(tcp_rmem), 1},
      {"net.ipv4.tcp_wmem", Kind::kVec, F(tcp_wmem), 1},
      {"net.ipv4.tcp_timestamps", Kind::kU8, F(tcp_timestamps)},
      {"net.ipv4.tcp_sack", Kind::kU8, F(tcp_sack)},
      {"net.ipv4.tcp_dsack", Kind::kU8, F(tcp_dsack)},
      {"net.ipv4.tcp_window_scaling", Kind::kU8, F(tcp_window_scaling)},
      {"net.ipv4.tcp_workaround_signed_windows", Kind::kU8, F(tcp_workaround_signed_windows)},
      {"net.ipv4.tcp_adv_win_scale", Kind::kInt, F(tcp_adv_win_scale), -31, 31},
      {"net.ipv4.tcp_ecn", Kind::kU8, F(tcp_ecn), 0, 2},
      {"net.ipv4.tcp_fastopen", Kind::kInt, F(tcp_fastopen)},
      {"net.ipv4.tcp_syncookies", Kind::kU8, F(tcp_syncookies)},
      {"net.ipv4.tcp_congestion_control", Kind::kCongestion},
      {"net.ipv4.tcp_available_congestion_control", Kind::kReadOnly},
      {"net.ipv4.tcp_recovery", Kind::kU8, F(tcp_recovery)},
      {"net.ipv4.tcp_early_retrans", Kind::kU8, F(tcp_early_retrans), 0, 4},
      {"net.ipv4.tcp_min_tso_segs", Kind::kU8, F(tcp_min_tso_segs), 1},
      {"net.ipv4.tcp_mtu_probing", Kind::kU8, F(tcp_mtu_probing)},
      {"net.ipv4.tcp_base_mss", Kind::kInt, F(tcp_base_mss)},
      {"net.ipv4.tcp_min_snd_mss", Kind::kInt, F(tcp_min_snd_mss), 48, 65535},
      {"net.ipv4.tcp_slow_start_after_idle", Kind::kU8, F(tcp_slow_start_after_idle)},
      {"net.ipv4.tcp_no_metrics_save", Kind::kU8, F(tcp_no_metrics_save)},
      {"net.ipv4.tcp_moderate_rcvbuf", Kind::kU8, F(tcp_moderate_rcvbuf)},
      {"net.ipv4.tcp_notsent_lowat", Kind::kUint},
      {"net.ipv4.tcp_retries1", Kind::kU8, F(tcp_retries1), 0, 255},
      {"net.ipv4.tcp_retries2", Kind::kU8, F(tcp_retries2)},
      {"net.ipv4.tcp_syn_retries", Kind::kU8, F(tcp_syn_retries), 1, 127},
      {"net.ipv4.tcp_syn_linear_timeouts", Kind::kU8, F(tcp_syn_linear_timeouts), 0, 127},
      {"net.ipv4.tcp_synack_retries", Kind::kU8, F(tcp_synack_retries)},
      {"net.ipv4.tcp_orphan_retries", Kind::kU8, F(tcp_orphan_retries)},
      {"net.ipv4.tcp_fin_timeout", Kind::kJiffies, F(tcp_fin_timeout)},
      {"net.ipv4.tcp_keepalive_time", Kind::kJiffies, F(tcp_keepalive_time)},
      {"net.ipv4.tcp_keepalive_intvl", Kind::kJiffies, F(tcp_keepalive_intvl)},
      {"net.ipv4.tcp_keepalive_probes", Kind::kU8, F(tcp_keepalive_probes)},
      {"net.ipv4.tcp_max_syn_backlog", Kind::kInt, F(tcp_max_syn_backlog)},
      {"net.ipv4.tcp_max_tw_buckets", Kind::kInt, F(tcp_max_tw_buckets)},
      {"net.ipv4.tcp_max_orphans", Kind::kInt, F(tcp_max_orphans)},
      {"net.ipv4.tcp_reordering", Kind::kInt, F(tcp_reordering), 1},
      {"net.ipv4.tcp_max_reordering", Kind::kInt, F(tcp_max_reordering), 1},
      {"net.ipv4.tcp_invalid_ratelimit", Kind::kMsJiffies, F(tcp_invalid_ratelimit_jiffies)},
      {"net.ipv4.tcp_challenge_ack_limit", Kind::kInt, F(tcp_challenge_ack_limit)},
  };
  return table;
}

#undef F

const Entry* find(std::string_view name) {
  const std::string n = sysctl_normalize(name);
  for (const Entry& e : entries()) {
    if (n == e.name) return &e;
  }
  return nullptr;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

void skip_spaces(std::string_view& in) {
  while (!in.empty() && is_space(in.front()))
    in.remove_prefix(1);
}

// proc_get_long: an optional '-', then digits in C syntax (strtoul base 0), which must end
// the text or be followed by a space, tab or newline. On success consumes the number.
std::optional<std::pair<unsigned long long, bool>> get_long(std::string_view& in) {
  bool neg = false;
  std::string_view p = in;
  if (!p.empty() && p.front() == '-') {
    neg = true;
    p.remove_prefix(1);
  }
  if (p.empty() || std::isdigit(static_cast<unsigned char>(p.front())) == 0) return std::nullopt;
  std::size_t len = 0;
  while (len < p.size() && !is_space(p[len]))
    ++len;
  // TMPBUFLEN: the kernel copies at most 21 characters of a number.
  if (len > 21) return std::nullopt;
  const std::string tok(p.substr(0, len));
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(tok.c_str(), &end, 0);
  if (errno == ERANGE || end != tok.c_str() + tok.size()) return std::nullopt;
  const char next = len < p.size() ? p[len] : '\n';
  if (next != ' ' && next != '\t' && next != '\n') return std::nullopt;
  in = p.substr(len);
  return std::pair{v, neg};
}

// do_proc_dointvec_conv: an int, or nullopt.
std::optional<long long> to_int(unsigned long long v, bool neg) {
  if (neg) {
    if (v > static_cast<unsigned long long>(kIntMax) + 1) return std::nullopt;
    return -static_cast<long long>(v);
  }
  if (v > static_cast<unsigned long long>(kIntMax)) return std::nullopt;
  return static_cast<long long>(v);
}

// __do_proc_dointvec's write loop over `vals`, with `conv` turning each number into the
// value stored (nullopt: EINVAL). Each element is stored as soon as it converts, so an error
// later in the text leaves the earlier ones written, as in Linux.
template <typename Conv>
Status write_ints(std::span<int> vals, std::string_view in, Conv conv) {
  if (in.empty()) return {};  // a write of no bytes changes nothing
  bool first = true;
  for (std::size_t i = 0; i < vals.size(); ++i, first = false) {
    skip_spaces(in);
    if (in.empty()) break;
    auto n = get_long(in);
    if (!n) return Error::kInvalidArgument;
    auto v = conv(n->first, n->second);
    if (!v) return Error::kInvalidArgument;
    vals[i] = static_cast<int>(*v);
  }
  if (first) return Error::kInvalidArgument;
  return {};
}

// __do_proc_douintvec: one unsigned value; what follows it is ignored.
std::optional<unsigned long long> read_uint(std::string_view in) {
  skip_spaces(in);
  if (in.empty()) return std::nullopt;
  auto n = get_long(in);
  if (!n || n->second || n->first > UINT_MAX) return std::nullopt;
  return n->first;
}

std::string join(std::span<const int> v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out += '\t';
    out += fmt::format("{}", v[i]);
  }
  return out;
}

std::string available_congestion_control() {
  std::string out;
  for (auto n : kCongestionControls) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string sysctl_normalize(std::string_view name) {
  std::string n(name);
  std::replace(n.begin(), n.end(), '/', '.');
  return n;
}

const std::vector<std::string>& sysctl_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Entry& e : entries())
      v.emplace_back(e.name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return names;
}

Result<std::string> sysctl_get(const Sysctl& s, std::string_view name) {
  const Entry* e = find(name);
  if (e == nullptr) return Error::kNoEntry;
  // The field accessors take a mutable Sysctl so one table serves reads and writes; a
  // read only looks.
  auto& m = const_cast<Sysctl&>(s);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  switch (e->kind) {
    case Kind::kCongestion:
      return s.tcp_congestion_control;
    case Kind::kReadOnly:
      return available_congestion_control();
    case Kind::kUint:
      return fmt::format("{}", s.tcp_notsent_lowat);
    case Kind::kMsJiffies:
      // jiffies_to_msecs, unsigned.
      return fmt::format("{}", static_cast<std::uint64_t>(static_cast<unsigned>(e->ints(m)[0])) *
                                   (1000 / kSysctlHz));
    default:
      return join(e->ints(m));
  }
}

Status sysctl_set(Sysctl& s, std::string_view name, std::string_view value) {
  const Entry* e = find(name);
  if (e == nullptr) return Error::kNoEntry;
  // tcp_reordering's upper bound is another setting (Linux extra2 = &tcp_max_reordering).
  const long long max = std::string_view(e->name) == "net.ipv4.tcp_reordering"
                            ? std::min<long long>(e->max, s.tcp_max_reordering)
                            : e->max;
  const auto in_bounds = [e, max](long long v) { return v >= e->min && v <= max; };
  if (e->kind == Kind::kReadOnly) return Error::kPermissionDenied;
  if (value.empty()) return {};  // a write of no bytes changes nothing
  switch (e->kind) {
    case Kind::kInt:
    case Kind::kVec:
      return write_ints(e->ints(s), value,
                        [&](unsigned long long v, bool neg) -> std::optional<long long> {
                          auto x = to_int(v, neg);
                          if (!x || !in_bounds(*x)) return std::nullopt;
                          return x;
                        });
    case Kind::kJiffies:
      // do_proc_dointvec_jiffies_conv: seconds that fit in an int of jiffies.
      return write_ints(e->ints(s), value,
                        [](unsigned long long v, bool neg) -> std::optional<long long> {
                          if (v > static_cast<unsigned long long>(kIntMax / kSysctlHz))
                            return std::nullopt;
                          return neg ? -static_cast<long long>(v) : static_cast<long long>(v);
                        });
    case Kind::kMsJiffies:
      // do_proc_dointvec_ms_jiffies_conv: msecs_to_jiffies() takes the value (negated if
      // negative) as an unsigned int; one with the top bit set is MAX_JIFFY_OFFSET, too
      // large; otherwise it rounds up to whole jiffies.
      return write_ints(e->ints(s), value,
                        [](unsigned long long v, bool neg) -> std::optional<long long> {
                          constexpr std::uint32_t kMsPerJiffy = 1000 / kSysctlHz;
                          const auto m = static_cast<std::uint32_t>(neg ? 0 - v : v);
                          if (static_cast<std::int32_t>(m) < 0) return std::nullopt;
                          return static_cast<long long>((m + kMsPerJiffy - 1) / kMsPerJiffy);
                        });
    case Kind::kU8: {
      auto v = read_uint(value);
      const long long hi = std::min<long long>(e->max, 255);
      const long long lo = e->min == LLONG_MIN ? 0 : e->min;
      if (!v || static_cast<long long>(*v) < lo || static_cast<long long>(*v) > hi)
        return Error::kInvalidArgument;
      e->ints(s)[0] = static_cast<int>(*v);
      return {};
    }
    case Kind::kUint: {
      auto v = read_uint(value);
      if (!v) return Error::kInvalidArgument;
      s.tcp_notsent_lowat = static_cast<std::uint32_t>(*v);
      return {};
    }
    case Kind::kPortRange: {
      // ipv4_local_port_range: parsed into a copy, each end within 1..65535; then the
      // range must not be reversed nor reach below ip_unprivileged_port_start.
      auto range = s.ip_local_port_range;
      if (auto st = write_ints(range, value,
                               [&](unsigned long long v, bool neg) -> std::optional<long long> {
                                 auto x = to_int(v, neg);
                                 if (!x || !in_bounds(*x)) return std::nullopt;
                                 return x;
                               });
          !st) {
        return st;
      }
      if (range[1] < range[0] || range[0] < s.ip_unprivileged_port_start)
        return Error::kInvalidArgument;
      s.ip_local_port_range = range;
      return {};
    }
    case Kind::kPrivPorts: {
      // ipv4_privileged_ports: the ephemeral range must stay above the privileged ports.
      int v = s.ip_unprivileged_port_start;
      if (auto st = write_ints(std::span<int>(&v, 1), value,
                               [&](unsigned long long x, bool neg) -> std::optional<long long> {
                                 auto i = to_int(x, neg);
                                 if (!i || !in_bounds(*i)) return std::nullopt;
                                 return i;
                               });
          !st) {
        return st;
      }
      if (s.ip_local_port_range[0] < v) return Error::kInvalidArgument;
      s.ip_unprivileged_port_start = v;
      return {};
    }
    case Kind::kCongestion: {
      // proc_dostring keeps at most TCP_CA_NAME_MAX - 1 bytes, up to a newline; then
      // tcp_set_default_congestion_control: an unknown name is ENOENT.
      std::string_view n = value.substr(0, std::min(value.size(), kTcpCaNameMax - 1));
      n = n.substr(0, n.find_first_of("\n"));
      n = n.substr(0, n.find('\0'));
      if (std::find(kCongestionControls.begin(), kCongestionControls.end(), n) ==
          kCongestionControls.end()) {
        return Error::kNoEntry;
      }
      s.tcp_congestion_control = std::string(n);
      return {};
    }
    case Kind::kReadOnly:
      break;
  }
  return Error::kPermissionDenied;
}

std::vector<SysctlAssignment> sysctl_parse_list(std::string_view text, char separator) {
  std::vector<SysctlAssignment> out;
  int line_no = 0;
  for (bool more = true; more;) {
    ++line_no;
    const std::size_t end = text.find(separator);
    std::string_view line = trim(text.substr(0, end));
    more = end != std::string_view::npos;
    text = more ? text.substr(end + 1) : std::string_view{};
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    SysctlAssignment a;
    a.line = line_no;
    if (line.front() == '-') {
      a.ignore_errors = true;
      line.remove_prefix(1);
    }
    const std::size_t eq = line.find('=');
    a.name = std::string(trim(line.substr(0, eq)));
    if (eq == std::string_view::npos || a.name.empty()) {
      a.valid = false;
    } else {
      a.value = std::string(trim(line.substr(eq + 1)));
    }
    out.push_back(std::move(a));
  }
  return out;
}

Status sysctl_apply(Sysctl& s, std::string_view text, char separator, const SysctlReport& report) {
  Status result;
  for (const SysctlAssignment& a : sysctl_parse_list(text, separator)) {
    const Status st = a.valid ? sysctl_set(s, a.name, a.value) : Status(Error::kInvalidArgument);
    if (st || a.ignore_errors) continue;
    if (report) report(a, st.error());
    if (result) result = st;
  }
  return result;
}

}  // namespace usnet
