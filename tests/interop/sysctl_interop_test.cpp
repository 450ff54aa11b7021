// usnet's sysctls against the kernel's, in a network namespace the test creates (never the
// machine's own: only per-namespace net.ipv4.* and net.core.somaxconn are written, and only
// inside it):
//   - every value a table of inputs gives is accepted or refused as the kernel's proc
//     handler accepts or refuses it, and reads back the same;
//   - usnet's defaults are those of a fresh namespace of this kernel, where the kernel
//     gives its own defaults (names that inherit the machine's value or depend on its memory
//     or build are listed with the reason);
//   - for several tcp_rmem values the SYN and the SYN,ACK usnet sends carry the window scale
//     and window the kernel's carry.
#include <fstream>
#include <map>
#include <sstream>

#include "../unit/support/pcap_reader.h"
#include "stack/sysctl.h"
#include "support/interop.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::interop {
namespace {

// Names written in the namespace: per-namespace in Linux (ipv4_net_table, netns_core_table).
// Left out: net.core.[rw]mem_* and netdev_max_backlog, net.ipv4.tcp_max_orphans (global:
// a write from any namespace would change the machine's), tcp_congestion_control (a child
// namespace may only pick from the machine's tcp_allowed_congestion_control, EPERM
// otherwise) and tcp_available_congestion_control (read-only).
bool per_namespace(const std::string& name) {
  static const char* const kGlobal[] = {
      "net.core.rmem_default",           "net.core.rmem_max",
      "net.core.wmem_default",           "net.core.wmem_max",
      "net.core.netdev_max_backlog",     "net.ipv4.tcp_max_orphans",
      "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_available_congestion_control"};
  return std::find(std::begin(kGlobal), std::end(kGlobal), name) == std::end(kGlobal);
}

std::string proc_path(std::string name) {
  std::replace(name.begin(), name.end(), '.', '/');
  return "/proc/sys/" + name;
}

// Kernel values print with tabs between elements; compare with white space normalised.
std::string words(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  std::string out;
  while (in >> w)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

class SysctlKernel : public NetnsFixture {
 protected:
  // For each input: write the baseline, then the input, to the kernel's file in the
  // namespace; "rc=N" and the value read back after it. The baseline is restored at the end.
  // The script refuses to run in the namespace it was started from.
  std::vector<std::pair<bool, std::string>> kernel_writes(const std::string& name,
                                                          const std::string& baseline,
                                                          const std::vector<std::string>& inputs) {
    std::string host_ns;
    EXPECT_EQ(run({"readlink", "/proc/self/ns/net"}, &host_ns), 0);
    const std::string script =
        "[ \"$(readlink /proc/self/ns/net)\" != \"$1\" ] || exit 99\n"
        "f=$2; base=$3; shift 3\n"
        "for v in \"$@\"; do printf '%s' \"$base\" > $f || exit 98\n"
        "  if printf '%s' \"$v\" > $f 2>/dev/null; then echo rc=0; else echo rc=1; fi\n"
        "  cat $f; done\n"
        "printf '%s' \"$base\" > $f\n";
    std::vector<std::string> argv = {"sh",    "-c", script, "sh", words(host_ns), proc_path(name),
                                     baseline};
    argv.insert(argv.end(), inputs.begin(), inputs.end());
    std::string out;
    const int rc = in_ns(argv, &out);
    EXPECT_EQ(rc, 0) << name << ": " << out;
    std::vector<std::pair<bool, std::string>> results;
    std::istringstream lines(out);
    std::string status;
    std::string value;
    while (std::getline(lines, status) && std::getline(lines, value))
      results.emplace_back(status == "rc=0", words(value));
    return results;
  }

  std::string kernel_value(const std::string& name) {
    std::string out;
    EXPECT_EQ(in_ns({"cat", proc_path(name)}, &out), 0) << name;
    return words(out);
  }

  // The kernel's HZ, as its ms-to-jiffies rounding shows: 1 ms reads back as one jiffy.
  int kernel_hz() {
    auto r = kernel_writes("net.ipv4.icmp_ratelimit", "1000", {"1"});
    if (r.size() != 1) return 0;
    return 1000 / std::max(1, std::stoi(r[0].second));
  }
};

TEST_F(SysctlKernel, ValuesAreAcceptedAndReadBackAsTheKernelDoes) {
  const std::vector<std::string> scalars = {
      "0",          "1",           "2",           "3",
      "5",          "48",          "127",         "128",
      "255",        "256",         "-1",          "-5",
      "1024",       "65535",       "65536",       "2147483647",
      "2147483648", "-2147483648", "-2147483649", "4294967295",
      "4294967296", "0x10",        "010",         "08",
      " 7 ",        "7 8",         "7x",          "",
      " ",          "abc",         "+3",          "99999999999999999999999",
      "8589934",    "8589935",     "2147483",     "2147484"};
  const std::vector<std::string> vectors = {"4096 87380 6291456",
                                            "4096\t131072\t15728640",
                                            "8192 1",
                                            "1 2 3 4",
                                            "0 1 2",
                                            "8192 x",
                                            "  16384  ",
                                            "-1 5 5",
                                            "4095 4096 4097"};
  const std::vector<std::string> ranges = {"40000 50000", "50000 40000", "1000 2000",
                                           "1024 1024",   "30000",       "0 10",
                                           "1 65536",     "2000 1024",   "32768 60999 7"};
  const bool hz_matches = kernel_hz() == kSysctlHz;
  int compared = 0;
  for (const std::string& name : sysctl_names()) {
    if (!per_namespace(name)) continue;
    if (name == "net.ipv4.icmp_ratelimit" && !hz_matches) {
      std::fprintf(stderr, "note: kernel HZ is not %d: icmp_ratelimit rounds differently\n",
                   kSysctlHz);
      continue;
    }
    const std::string baseline = kernel_value(name);
    std::vector<std::string> inputs = scalars;
    if (name == "net.ipv4.tcp_rmem" || name == "net.ipv4.tcp_wmem") inputs = vectors;
    if (name == "net.ipv4.ip_local_port_range") inputs = ranges;
    const auto kernel = kernel_writes(name, baseline, inputs);
    ASSERT_EQ(kernel.size(), inputs.size()) << name;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      Sysctl s;
      ASSERT_TRUE(sysctl_set(s, name, baseline)) << name << " baseline " << baseline;
      const bool ok = static_cast<bool>(sysctl_set(s, name, inputs[i]));
      auto got = sysctl_get(s, name);
      ASSERT_TRUE(got) << name;
      EXPECT_EQ(ok, kernel[i].first) << name << " = \"" << inputs[i] << "\"";
      EXPECT_EQ(words(*got), kernel[i].second) << name << " = \"" << inputs[i] << "\"";
      ++compared;
    }
  }
  std::fprintf(stderr, "compared %d writes with the kernel's\n", compared);
  EXPECT_GT(compared, 500);
}

TEST_F(SysctlKernel, DefaultsAreAFreshNamespacesOfThisKernel) {
  // Values a fresh namespace takes from the machine's own (tcp_rmem, tcp_wmem: copied from
  // the initial namespace), or that the kernel sizes by memory: usnet keeps Linux's
  // documented defaults for these and says so in stack/sysctl.h.
  static const char* const kMachineDependent[] = {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
                                                  "net.ipv4.tcp_max_syn_backlog",
                                                  "net.ipv4.tcp_max_tw_buckets"};
  const Sysctl defaults;
  int compared = 0;
  for (const std::string& name : sysctl_names()) {
    if (!per_namespace(name)) continue;
    if (std::find(std::begin(kMachineDependent), std::end(kMachineDependent), name) !=
        std::end(kMachineDependent)) {
      continue;
    }
    auto ours = sysctl_get(defaults, name);
    ASSERT_TRUE(ours);
    EXPECT_EQ(words(*ours), kernel_value(name)) << name;
    ++compared;
  }
  EXPECT_GT(compared, 35);
}

// Parsed TCP segments of a capture: (source address, header).
std::vector<std::pair<Ipv4Address, wire::TcpHeader>> tcp_segments(const std::string& pcap) {
  std::vector<std::pair<Ipv4Address, wire::TcpHeader>> out;
  for (const auto& frame : test::read_pcap(pcap)) {
    auto eth = wire::EthernetHeader::parse(frame);
    if (!eth || eth->ethertype != 0x0800) continue;
    const ByteSpan ipb = ByteSpan(frame).subspan(eth->size());
    auto ip = wire::Ipv4Header::parse(ipb);
    if (!ip || ip->protocol != 6) continue;
    auto tcp = wire::TcpHeader::parse(
        ipb.subspan(ip->header_length, ip->total_length - ip->header_length), ip->src, ip->dst);
    if (tcp) out.emplace_back(ip->src, *tcp);
  }
  return out;
}

std::optional<wire::TcpHeader> first_with(
    const std::vector<std::pair<Ipv4Address, wire::TcpHeader>>& segs, const char* from,
    std::uint8_t flags) {
  const auto src = *Ipv4Address::parse(from);
  for (const auto& [a, h] : segs) {
    if (a == src && h.flags == flags) return h;
  }
  return std::nullopt;
}

class SynKernel : public SysctlKernel, public ::testing::WithParamInterface<const char*> {
 protected:
  std::string tmp(const std::string& name) const {
    return ::testing::TempDir() + "usnet-" + ns_ + "-" + name;
  }
};

// The kernel (tcp_rmem set in its namespace) and usnet (the same with --sysctl) each open
// a connection to the other; the SYN each sends and the SYN,ACK each answers must carry the
// same window scale, window, MSS and options.
TEST_P(SynKernel, SynAndSynAckMatchTheKernels) {
  const std::string rmem = GetParam();
  const std::string setting = "net.ipv4.tcp_rmem=" + rmem;
  ASSERT_EQ(in_ns({"sysctl", "-q", "-w", setting}), 0);
  ASSERT_EQ(kernel_value("net.ipv4.tcp_rmem"), words(rmem));
  // The kernel connects to usnet.
  const std::string server_pcap = tmp("server.pcap");
  start_tool({"tcp-echo", "-p", "7", "--pcap", server_pcap, "--sysctl", setting}, "listening");
  ASSERT_EQ(in_ns({"python3", "-c",
                   "import socket; s = socket.create_connection(('198.18.3.2', 7), timeout=5); "
                   "s.sendall(b'x'); s.recv(1); s.close()"}),
            0);
  stop_tool();
  // usnet connects to the kernel.
  const pid_t server =
      spawn_in_ns({"python3", "-c",
                   "import socket\nl = socket.socket()\nl.setsockopt(socket.SOL_SOCKET, "
                   "socket.SO_REUSEADDR, 1)\nl.bind(('', 45001))\nl.listen(1)\nc, _ = "
                   "l.accept()\nwhile c.recv(65536): pass\n"});
  ASSERT_TRUE(wait_kernel_listening(45001, server));
  const std::string client_pcap = tmp("client.pcap");
  ASSERT_EQ(run_tool({"tcp-send", "198.18.3.1", "45001", "--bytes", "1", "--pcap", client_pcap,
                      "--sysctl", setting}),
            0);
  EXPECT_EQ(wait_bg(server, 10), 0);

  const auto kernel_side = tcp_segments(server_pcap);
  const auto usnet_side = tcp_segments(client_pcap);
  auto k_syn = first_with(kernel_side, kKernelAddr, wire::kTcpSyn);
  auto u_synack = first_with(kernel_side, kUsnetAddr, wire::kTcpSyn | wire::kTcpAck);
  auto u_syn = first_with(usnet_side, kUsnetAddr, wire::kTcpSyn);
  auto k_synack = first_with(usnet_side, kKernelAddr, wire::kTcpSyn | wire::kTcpAck);
  ASSERT_TRUE(k_syn && u_synack && u_syn && k_synack);
  std::fprintf(stderr, "tcp_rmem %s: kernel SYN wscale %d win %u, usnet SYN wscale %d win %u\n",
               rmem.c_str(), k_syn->options.window_scale.value_or(-1), k_syn->window,
               u_syn->options.window_scale.value_or(-1), u_syn->window);
  for (const auto& [k, u, what] :
       {std::tuple{*k_syn, *u_syn, "SYN"}, std::tuple{*k_synack, *u_synack, "SYN,ACK"}}) {
    EXPECT_EQ(u.options.window_scale, k.options.window_scale) << what;
    EXPECT_EQ(u.window, k.window) << what;
    EXPECT_EQ(u.options.mss, k.options.mss) << what;
    EXPECT_EQ(u.options.sack_permitted, k.options.sack_permitted) << what;
    EXPECT_EQ(u.options.ts_val.has_value(), k.options.ts_val.has_value()) << what;
  }
  std::remove(server_pcap.c_str());
  std::remove(client_pcap.c_str());
}

INSTANTIATE_TEST_SUITE_P(TcpRmem, SynKernel,
                         ::testing::Values("4096 131072 15728640", "4096 131072 6291456",
                                           "4096 131072 33554432", "4096 65536 1048576",
                                           "4096 262144 134217728"));

}  // namespace
}  // namespace usnet::interop
