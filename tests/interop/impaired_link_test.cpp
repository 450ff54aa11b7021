// usnet's TCP against the Linux kernel over impaired links (support/impaired_link.h): for
// each impairment, 32 MiB each way between usnet and the kernel (the `usnet` tool as client
// of a kernel sender and as sender to a kernel sink), byte-checked, then the same two
// transfers between the kernel and itself over the same link. The sender's
// retransmissions and the elapsed time are compared, usnet over kernel, and printed.
//
// Every impairment runs on a 100 Mbit/s link, so that the link and not the CPU sets the
// pace: usnet in a debug build moves about 200 Mbit/s, the kernel far more, and a faster
// link would compare compilers, not TCPs. A test fails only on damaged data, a stall (a
// transfer not done in 300 s), or a ratio worse than 2 (retransmissions get a slack of
// 0.5% of the segments, for the profiles where both send only a few). Where usnet is known
// to fall short today, the gap is listed in kKnownGaps with its reason and printed instead
// of judged. Sanitizer builds move 8 MiB and do not judge ratios (they would measure the
// sanitizer), and say so. Each line starting RATIO is one result.
//
// Without sch_netem (tc says "Specified qdisc kind is unknown") the link is the relay of
// support/impaired_link.h, said loudly in the output: the same impairment for usnet and the
// kernel, from usnet's seeded Channel instead of netem.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/body.h"
#include "support/impaired_link.h"
#include "support/interop.h"

namespace usnet::interop {
namespace {

#ifdef USNET_SANITIZED
constexpr std::uint64_t kBytes = 8ULL << 20;
constexpr bool kJudgeRatios = false;
#else
constexpr std::uint64_t kBytes = 32ULL << 20;
constexpr bool kJudgeRatios = true;
#endif
constexpr int kStallSeconds = 300;
constexpr std::uint64_t kRate = 100'000'000;

// The kernel's side of a transfer, timed from accept() to the end: `serve PORT FILE`
// answers one HTTP GET with the file and waits for the client to close; `sink PORT FILE`
// writes what arrives to FILE until the end of the stream; `send HOST PORT FILE` sends the
// file, shuts down its side and waits for the peer to close. Prints the seconds.
constexpr const char* kPyPeer = R"(
import os, socket, sys, time
mode = sys.argv[1]
if mode == 'send':
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
    t0 = time.monotonic()
    with open(sys.argv[4], 'rb') as f: s.sendfile(f)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
    print('%.6f' % (time.monotonic() - t0)); sys.exit(0)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', int(sys.argv[2]))); l.listen(8)
c, _ = l.accept(); t0 = time.monotonic()
if mode == 'serve':
    req = b''
    while b'\r\n\r\n' not in req:
        d = c.recv(4096)
        if not d: sys.exit(3)
        req += d
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' %
              os.path.getsize(sys.argv[3]))
    with open(sys.argv[3], 'rb') as f: c.sendfile(f)
    while c.recv(65536): pass
else:
    with open(sys.argv[3], 'wb') as f:
        while True:
            d = c.recv(1 << 20)
            if not d: break
            f.write(d)
print('%.6f' % (time.monotonic() - t0))
c.close()
)";

std::uint64_t kernel_retrans(const std::string& ns) {
  std::string snmp;
  run({"ip", "netns", "exec", ns, "cat", "/proc/net/snmp"}, &snmp);
  // Two "Tcp:" lines: the names, then the values, in the same order.
  const auto h = snmp.find("\nTcp:");
  if (h == std::string::npos) return 0;
  const auto v = snmp.find("\nTcp:", h + 1);
  auto words = [](const std::string& line) {
    std::vector<std::string> w;
    std::size_t p = 0;
    while (p < line.size()) {
      const auto q = line.find(' ', p);
      w.push_back(line.substr(p, q - p));
      if (q == std::string::npos) break;
      p = q + 1;
    }
    return w;
  };
  const auto names = words(snmp.substr(h + 1, snmp.find('\n', h + 1) - h - 1));
  const auto values = words(snmp.substr(v + 1, snmp.find('\n', v + 1) - v - 1));
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (names[i] == "RetransSegs") return std::strtoull(values[i].c_str(), nullptr, 10);
  }
  return 0;
}

double read_seconds(const std::string& path) {
  std::ifstream f(path);
  double s = -1;
  f >> s;
  return s;
}

struct Measured {
  double secs = -1;
  std::uint64_t retrans = 0;
};

class ImpairedLink : public NetnsFixture, public ::testing::WithParamInterface<LinkProfile> {
 protected:
  void SetUp() override {
    NetnsFixture::SetUp();  // ns_ is K
    if (IsSkipped() || HasFatalFailure()) return;
    nsu_ = ns_ + "u";
    ASSERT_EQ(run({"ip", "netns", "add", nsu_}), 0);
    nsu_made_ = true;
    for (const std::string& ns : {ns_, nsu_}) {
      ASSERT_EQ(run({"ip", "-n", ns, "link", "set", "lo", "up"}), 0);
      // No IPv6 chatter (router and neighbour solicitations) on the measured link.
      run({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1"});
    }
    const LinkProfile& p = GetParam();
    std::string why;
    if (netem_available(&why)) {
      how_ = "tc netem on both ends of a veth pair";
      ASSERT_EQ(run({"ip", "-n", ns_, "link", "add", "usnet-k0", "type", "veth", "peer", "name",
                     "usnet-u0", "netns", nsu_}),
                0);
      for (const auto& [ns, dev] : {std::pair{ns_, "usnet-k0"}, std::pair{nsu_, "usnet-u0"}}) {
        // netem judges whole GSO packets: give it one segment at a time.
        in(ns, {"ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"});
        std::vector<std::string> tc = {"tc", "qdisc", "add", "dev", dev, "root", "netem"};
        for (const auto& a : p.netem_args())
          tc.push_back(a);
        ASSERT_EQ(in(ns, tc), 0);
      }
    } else {
      std::fprintf(stderr,
                   "\n*** NOTE: %s. The impairment is applied instead by usnet's seeded Channel "
                   "(src/dev/impairments.h) in a relay thread joining two TAPs, both ways. ***\n\n",
                   why.c_str());
      how_ = "usnet's Channel in a relay between two TAPs (no sch_netem here)";
      ASSERT_EQ(in(ns_, {"ip", "tuntap", "add", "dev", "usnet-k0", "mode", "tap"}), 0);
      ASSERT_EQ(in(nsu_, {"ip", "tuntap", "add", "dev", "usnet-u0", "mode", "tap"}), 0);
      std::unique_ptr<TapDevice> k;
      std::unique_ptr<TapDevice> u;
      ASSERT_TRUE(with_netns(ns_, [&] {
        auto r = TapDevice::open("usnet-k0", 1500);
        if (r) k = std::move(r.value());
      }));
      ASSERT_TRUE(with_netns(nsu_, [&] {
        auto r = TapDevice::open("usnet-u0", 1500);
        if (r) u = std::move(r.value());
      }));
      ASSERT_TRUE(k && u) << "cannot open the relay's TAPs";
      relay_ = std::make_unique<TapRelay>(std::move(k), std::move(u), p.channel(), 77);
    }
    ASSERT_EQ(in(ns_, {"ip", "addr", "add", "198.18.3.1/24", "dev", "usnet-k0"}), 0);
    ASSERT_EQ(in(ns_, {"ip", "link", "set", "usnet-k0", "up"}), 0);
    ASSERT_EQ(in(nsu_, {"ip", "link", "add", "usnet-br0", "type", "bridge"}), 0);
    ASSERT_EQ(in(nsu_, {"ip", "tuntap", "add", "dev", "ut0", "mode", "tap"}), 0);
    for (const char* dev : {"usnet-u0", "ut0"}) {
      ASSERT_EQ(in(nsu_, {"ip", "link", "set", dev, "master", "usnet-br0", "up"}), 0);
    }
    ASSERT_EQ(in(nsu_, {"ip", "link", "set", "usnet-br0", "up"}), 0);
    body_ = ::testing::TempDir() + "usnet-" + ns_ + "-body";
    std::ofstream f(body_, std::ios::binary);
    std::vector<char> chunk(1 << 20);
    for (std::uint64_t off = 0; off < kBytes; off += chunk.size()) {
      for (std::size_t i = 0; i < chunk.size(); ++i)
        chunk[i] = static_cast<char>(body_byte(off + i));
      f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  }

  void TearDown() override {
    for (pid_t pid : bg_) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    bg_.clear();
    relay_.reset();  // closes the relay's TAP ends before the namespaces go
    if (nsu_made_) {
      for (const char* dev : {"ut0", "usnet-u0", "usnet-br0"})
        in(nsu_, {"ip", "link", "del", dev});
      run({"ip", "netns", "del", nsu_});
    }
    if (created_) in(ns_, {"ip", "link", "del", "usnet-k0"});
    if (!body_.empty()) std::remove(body_.c_str());
    NetnsFixture::TearDown();
  }

  int in(const std::string& ns, std::vector<std::string> argv, std::string* out = nullptr) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns});
    return run(argv, out, 30);
  }

  std::vector<std::string> usnet(std::vector<std::string> args) const {
    args.insert(args.begin(), USNET_TOOL_PATH);
    for (const char* a : {"--netns", nsu_.c_str(), "--tap", "ut0", "--addr", "198.18.3.2/24",
                          "--mac", "02:00:00:00:03:02", "--timeout", "60"}) {
      args.emplace_back(a);
    }
    return args;
  }

  // argv with @PORT and @OUT replaced, also inside an argument (a URL).
  static std::vector<std::string> fill(std::vector<std::string> argv, int port,
                                       const std::string& out) {
    for (auto& a : argv) {
      for (const auto& [key, value] :
           {std::pair<std::string, std::string>{"@PORT", std::to_string(port)}, {"@OUT", out}}) {
        for (auto p = a.find(key); p != std::string::npos; p = a.find(key))
          a.replace(p, key.size(), value);
      }
    }
    return argv;
  }

  std::string tmp(const std::string& name) const {
    return ::testing::TempDir() + "usnet-" + ns_ + "-" + name;
  }

  // The kernel in K serves the body; the client (usnet or the kernel in U) downloads it.
  Measured download(const std::string& who, const std::vector<std::string>& client, int port) {
    Measured r;
    const std::string secs = tmp("secs");
    const std::string saved = tmp("saved");
    const std::uint64_t before = kernel_retrans(ns_);
    const pid_t server =
        spawn_in(ns_, {"python3", "-c", kPyPeer, "serve", std::to_string(port), body_}, secs);
    EXPECT_TRUE(wait_kernel_listening(port, server));
    const std::vector<std::string> argv = fill(client, port, saved);
    std::string out;
    const int rc = run(argv, &out, kStallSeconds);
    EXPECT_EQ(rc, 0) << who << " download failed or stalled:\n" << out;
    EXPECT_EQ(wait_bg(server, 30), 0) << who << ": the kernel sender did not finish";
    std::string why;
    EXPECT_TRUE(file_is_body(saved, kBytes, &why)) << who << ": " << why;
    r.secs = read_seconds(secs);
    r.retrans = kernel_retrans(ns_) - before;
    std::remove(saved.c_str());
    std::remove(secs.c_str());
    return r;
  }

  // The kernel in K sinks what the sender (usnet or the kernel in U) uploads.
  Measured upload(const std::string& who, const std::vector<std::string>& sender, int port,
                  bool usnet_sender) {
    Measured r;
    const std::string secs = tmp("secs");
    const std::string saved = tmp("sunk");
    const std::uint64_t before = kernel_retrans(nsu_);
    const pid_t sink =
        spawn_in(ns_, {"python3", "-c", kPyPeer, "sink", std::to_string(port), saved}, secs);
    EXPECT_TRUE(wait_kernel_listening(port, sink));
    const std::vector<std::string> argv = fill(sender, port, saved);
    std::string out;
    const int rc = run(argv, &out, kStallSeconds);
    EXPECT_EQ(rc, 0) << who << " upload failed or stalled:\n" << out;
    if (std::getenv("USNET_IMPAIRED_VERBOSE") != nullptr) std::printf("%s\n", out.c_str());
    EXPECT_EQ(wait_bg(sink, 30), 0) << who << ": the kernel sink did not finish";
    std::string why;
    EXPECT_TRUE(file_is_body(saved, kBytes, &why)) << who << ": " << why;
    r.secs = read_seconds(secs);
    r.retrans = usnet_sender ? counter(out, "TcpRetransSegs") : kernel_retrans(nsu_) - before;
    std::remove(saved.c_str());
    std::remove(secs.c_str());
    return r;
  }

  // Prints the ratios and judges them, except where a known gap is written down below.
  void compare(const std::string& direction, const Measured& u, const Measured& k) {
    const double segments = static_cast<double>(kBytes) / 1448;
    const double slack = 0.005 * segments;
    const double t_ratio = k.secs > 0 ? u.secs / k.secs : 0;
    const std::string r_ratio =
        k.retrans > 0 ? fmt_ratio(static_cast<double>(u.retrans) / static_cast<double>(k.retrans))
                      : std::string("n/a");
    std::printf(
        "RATIO %-9s %s: %llu MiB, time usnet %.2f s / kernel %.2f s = %.2f; sender "
        "retransmissions usnet %llu / kernel %llu = %s\n",
        GetParam().name, direction.c_str(), static_cast<unsigned long long>(kBytes >> 20), u.secs,
        k.secs, t_ratio, static_cast<unsigned long long>(u.retrans),
        static_cast<unsigned long long>(k.retrans), r_ratio.c_str());
    ASSERT_GT(u.secs, 0);
    ASSERT_GT(k.secs, 0);
    if (!kJudgeRatios) {
      std::printf("NOTE: sanitizer build: %llu MiB, ratios printed, not judged\n",
                  static_cast<unsigned long long>(kBytes >> 20));
      return;
    }
    judge(direction + " time", t_ratio <= 2.0, "usnet takes more than twice the kernel's time");
    judge(direction + " retransmissions",
          static_cast<double>(u.retrans) <= 2.0 * static_cast<double>(k.retrans) + slack,
          "usnet's sender retransmits more than twice what the kernel's does");
  }

  static std::string fmt_ratio(double r) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.2f", r);
    return b;
  }

  // A ratio worse than 2 fails the test unless it is one of these gaps, each with its
  // reason (printed loudly; when it comes back within 2, the note says the entry can go).
  void judge(const std::string& what, bool ok, const char* failure) {
    const std::string key = std::string(GetParam().name) + " " + what;
    const char* known = nullptr;
    for (const auto& [k, why] : kKnownGaps) {
      if (key == k) known = why;
    }
    if (ok && known != nullptr) {
      std::printf("NOTE: %s is within 2x now: its entry in kKnownGaps can go\n", key.c_str());
    } else if (!ok && known != nullptr) {
      std::printf("KNOWN GAP, not judged: %s: %s\n", key.c_str(), known);
    } else if (!ok) {
      ADD_FAILURE() << key << ": " << failure;
    }
  }

  static constexpr std::pair<const char*, const char*> kKnownGaps[] = {
      {"loss5pct usnet->kernel time",
       "RACK-TLP (RFC 8985) with lost-retransmission detection and PRR are in, and usnet's "
       "sender now retransmits as much as the kernel's (ratio ~1.0), yet it takes 2.8-3.6x the "
       "kernel's time; the cause is not found yet (in the simulator the same change took "
       "16 MiB at 10% loss from 270-1090 s to 60-80 s)"},
      {"reorder usnet->kernel retransmissions",
       "with RACK (RFC 8985) and DSACK undo usnet's sender retransmits 3x-80x what the "
       "kernel's does under 1% reordering by 1-3 ms on a sub-millisecond path (runs vary "
       "widely); the reordering window starts at min_RTT/4 as Linux's, the difference is not "
       "understood yet"},
      {"delay kernel->usnet retransmissions",
       "usnet's receive window is not autotuned (README): it offers 6 MiB at once, the kernel's "
       "slow start follows it past the 1,000-frame queue, where a kernel receiver's growing "
       "window holds the sender back"},
      {"rate usnet->kernel retransmissions",
       "usnet has no HyStart (RFC 9406): its slow start overshoots the 100-frame queue of the "
       "50 Mbit/s link (a few hundred drops in some runs, none in others); the kernel leaves "
       "slow start before"},
      {"delay usnet->kernel retransmissions",
       "usnet has no HyStart (RFC 9406): its slow start doubles past the 1,000-frame queue at "
       "40 ms RTT; the kernel's CUBIC leaves slow start when the delay rises"},
  };

  std::string nsu_;
  bool nsu_made_ = false;
  std::string how_;
  std::string body_;
  std::unique_ptr<TapRelay> relay_;
};

TEST_P(ImpairedLink, ThirtyTwoMiBEachWayAgainstTheKernelsOwn) {
  std::printf("%s: impairment by %s\n", GetParam().name, how_.c_str());
  const Measured u_down =
      download("usnet get",
               usnet({"get", "http://198.18.3.1:@PORT/body", "-o", "@OUT", "--counters"}), 8001);
  const Measured u_up = upload("usnet tcp-send",
                               usnet({"tcp-send", "198.18.3.1", "@PORT", "--bytes",
                                      std::to_string(kBytes), "--counters", "--sockets"}),
                               8002, true);
  // The same transfers, the kernel in U in usnet's place (same bridge, same link).
  ASSERT_EQ(in(nsu_, {"ip", "addr", "add", "198.18.3.2/24", "dev", "usnet-br0"}), 0);
  const Measured k_down = download("kernel curl",
                                   {"ip", "netns", "exec", nsu_, "curl", "-s", "-S", "--max-time",
                                    "290", "-o", "@OUT", "http://198.18.3.1:@PORT/body"},
                                   8003);
  const Measured k_up = upload(
      "kernel python",
      {"ip", "netns", "exec", nsu_, "python3", "-c", kPyPeer, "send", "198.18.3.1", "@PORT", body_},
      8004, false);
  if (relay_) {
    const ChannelStats& ku = relay_->stats(0);
    const ChannelStats& uk = relay_->stats(1);
    const std::uint64_t ku_lost = ku.lost + ku.queue_dropped;
    const std::uint64_t uk_lost = uk.lost + uk.queue_dropped;
    std::printf(
        "relay: K->U %llu frames (%llu lost, %llu reordered), U->K %llu frames (%llu lost)\n",
        static_cast<unsigned long long>(ku.sent), static_cast<unsigned long long>(ku_lost),
        static_cast<unsigned long long>(ku.reordered), static_cast<unsigned long long>(uk.sent),
        static_cast<unsigned long long>(uk_lost));
  }
  compare("kernel->usnet", u_down, k_down);
  compare("usnet->kernel", u_up, k_up);
}

LinkProfile loss(const char* name, double p) {
  LinkProfile l{name};
  l.loss = p;
  l.rate_bps = kRate;
  return l;
}

LinkProfile reorder() {
  LinkProfile l{"reorder"};
  l.reorder = 0.01;  // 1% held back 1-3 ms (netem: sent 1 ms ahead of the others)
  l.rate_bps = kRate;
  return l;
}

LinkProfile delay() {
  LinkProfile l{"delay"};
  l.delay = std::chrono::milliseconds(20);
  l.jitter = std::chrono::milliseconds(5);
  l.rate_bps = kRate;
  return l;
}

LinkProfile rate() {
  LinkProfile l{"rate"};
  l.rate_bps = 50'000'000;  // a slower bottleneck with a shallow drop-tail queue
  l.limit = 100;
  return l;
}

INSTANTIATE_TEST_SUITE_P(Profiles, ImpairedLink,
                         ::testing::Values(loss("loss1pct", 0.01), loss("loss5pct", 0.05),
                                           reorder(), delay(), rate()),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace usnet::interop
