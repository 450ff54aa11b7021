// A stack's settings under Linux's sysctl names (Documentation/networking/ip-sysctl.rst),
// with Linux's defaults and Linux's effect. Each Stack owns one Sysctl (no global state,
// DESIGN.md invariant 1): the protocols read its plain fields on their paths (no lookup by
// name per packet); the names exist only for sysctl_get/sysctl_set, which parse and print
// values as the kernel's proc handlers do (proc_dointvec_minmax, proc_dou8vec_minmax, ...).
//
// Defaults are those of Linux 6.18 where a user would notice them (tcp_rmem[2] 32 MiB,
// rmem_max 4 MiB, tcp_syn_linear_timeouts 4), except where a value depends on the machine's
// memory (tcp_max_tw_buckets, tcp_max_orphans, tcp_max_syn_backlog: the values Linux picks
// for a small machine) and tcp_congestion_control (cubic, the kernel's default; a
// distribution may build another in).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace usnet {

// The kernel's HZ on x86 Debian: values kept in jiffies (tcp_fin_timeout, icmp_ratelimit)
// round through it exactly as on such a kernel.
inline constexpr int kSysctlHz = 250;

struct Sysctl {
  // --- net.core ---
  int somaxconn = 4096;           // listen() backlog cap
  int rmem_default = 212992;      // SO_RCVBUF of a new UDP/ping socket
  int rmem_max = 4194304;         // cap of SO_RCVBUF (before doubling)
  int wmem_default = 212992;      // SO_SNDBUF of a new UDP/ping socket
  int wmem_max = 4194304;         // cap of SO_SNDBUF (before doubling)
  int netdev_max_backlog = 1000;  // the loopback queue

  // --- net.ipv4: IP and ICMP ---
  int ip_default_ttl = 64;
  std::array<int, 2> ip_local_port_range = {32768, 60999};
  int ip_unprivileged_port_start = 1024;  // bounds ip_local_port_range (no privilege check)
  int ip_no_pmtu_disc = 0;                // 1: new sockets default to IP_PMTUDISC_DONT
  int icmp_echo_ignore_all = 0;
  int icmp_echo_ignore_broadcasts = 1;
  // icmp_ratelimit, kept as the kernel keeps it: in jiffies (1000 ms); reads and writes are
  // in ms. Read icmp_ratelimit_ms().
  int icmp_ratelimit_jiffies = kSysctlHz;
  int icmp_msgs_per_sec = 1000;
  int icmp_msgs_burst = 50;

  // --- net.ipv4: TCP ---
  std::array<int, 3> tcp_rmem = {4096, 131072, 33554432};
  std::array<int, 3> tcp_wmem = {4096, 16384, 4194304};
  int tcp_timestamps = 1;
  int tcp_sack = 1;
  int tcp_dsack = 1;
  int tcp_window_scaling = 1;
  int tcp_workaround_signed_windows = 0;
  int tcp_adv_win_scale = 1;  // obsolete since Linux 6.6 (the window is half the buffer)
  int tcp_ecn = 2;
  int tcp_fastopen = 1;
  int tcp_syncookies = 1;
  std::string tcp_congestion_control = "cubic";
  int tcp_recovery = 1;
  int tcp_early_retrans = 3;
  int tcp_min_tso_segs = 2;
  int tcp_mtu_probing = 0;
  int tcp_base_mss = 1024;
  int tcp_min_snd_mss = 48;
  int tcp_slow_start_after_idle = 1;
  int tcp_no_metrics_save = 0;
  int tcp_moderate_rcvbuf = 1;
  std::uint32_t tcp_notsent_lowat = 0xffffffff;
  int tcp_retries1 = 3;
  int tcp_retries2 = 15;
  int tcp_syn_retries = 6;
  int tcp_syn_linear_timeouts = 4;
  int tcp_synack_retries = 5;
  int tcp_orphan_retries = 0;
  int tcp_fin_timeout = 60;  // seconds (through jiffies)
  int tcp_keepalive_time = 7200;
  int tcp_keepalive_intvl = 75;
  int tcp_keepalive_probes = 9;
  int tcp_max_syn_backlog = 512;
  int tcp_max_tw_buckets = 32768;
  int tcp_max_orphans = 16384;
  int tcp_reordering = 3;        // the duplicate threshold (RFC 5681's 3; RACK's too)
  int tcp_max_reordering = 300;  // bounds tcp_reordering
  // Answers to out-of-window segments and challenge ACKs: one per this many jiffies per
  // socket (tcp_oow_rate_limited), and at most tcp_challenge_ack_limit challenge ACKs per
  // second per stack (INT_MAX since Linux 6.0: no stack-wide limit).
  int tcp_invalid_ratelimit_jiffies = kSysctlHz / 2;
  int tcp_challenge_ack_limit = 0x7fffffff;

  std::int64_t tcp_invalid_ratelimit_ms() const noexcept {
    return std::int64_t{tcp_invalid_ratelimit_jiffies} * 1000 / kSysctlHz;
  }
  std::int64_t icmp_ratelimit_ms() const noexcept {
    return std::int64_t{icmp_ratelimit_jiffies} * 1000 / kSysctlHz;
  }
};

// The value of `name` (net.ipv4.tcp_rmem or net/ipv4/tcp_rmem) as `sysctl -n` prints it:
// vectors tab-separated. kNoEntry for a name usnet does not have.
Result<std::string> sysctl_get(const Sysctl& s, std::string_view name);
// Sets `name` from text as the kernel's proc handler parses a write: numbers in C syntax
// (0x.., 0..) separated by white space, trailing values of a vector left unchanged, extra
// values ignored. kNoEntry: unknown name (or an unknown congestion control);
// kInvalidArgument: not a number, out of range, or rejected by the handler's check;
// kPermissionDenied: a read-only name. As in Linux, a vector whose later element is bad
// keeps the elements written before it.
Status sysctl_set(Sysctl& s, std::string_view name, std::string_view value);
// Every name, sorted as `sysctl -a` lists them.
const std::vector<std::string>& sysctl_names();
// The canonical dotted form of a name given with '/' or '.' separators.
std::string sysctl_normalize(std::string_view name);

// One assignment of a list or a sysctl.conf file.
struct SysctlAssignment {
  int line = 0;  // from 1
  std::string name;
  std::string value;
  bool ignore_errors = false;  // the name had a leading '-'
  bool valid = true;           // false: no '=' or no name ("invalid syntax")
};
// `name=value;name=value` (the USNET_SYSCTL environment variable) or, with separator '\n',
// the lines of a sysctl.conf file: `name = value` with white space trimmed, '#' and ';'
// comments, blank lines, and a leading '-' on a name to ignore its errors, as sysctl(8).
std::vector<SysctlAssignment> sysctl_parse_list(std::string_view text, char separator);
// Applies each assignment through sysctl_set; `report` hears of every failure not
// ignored. Returns the first such error, after trying every other assignment.
using SysctlReport = std::function<void(const SysctlAssignment& a, Error e)>;
Status sysctl_apply(Sysctl& s, std::string_view text, char separator,
                    const SysctlReport& report = {});

}  // namespace usnet
