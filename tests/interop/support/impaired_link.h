// An impaired Ethernet link between two namespaces a test creates, for comparing usnet's
// TCP with the kernel's over the same impairment:
//
//   ns K (the kernel peer)              ns U (usnet, or a second kernel to compare with)
//   usnet-k0 198.18.3.1/24 ==link== usnet-u0 ─ usnet-br0 ─ ut0 (TAP: the usnet tool,
//                                                          198.18.3.2 in usnet)
//                                              (or 198.18.3.2/24 on usnet-br0: the kernel)
//
// The link is a veth pair with `tc netem` on the egress of both ends when the kernel has
// sch_netem; without it, two TAPs whose user ends a relay thread of the test joins through
// usnet's own seeded Channel (src/dev/impairments.h), in real time, both ways. Either way
// usnet and the kernel cross the same link, the same bridge and the same kernel path.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "dev/impairments.h"
#include "dev/tap.h"
#include "interop.h"

namespace usnet::interop {

// One impairment, as netem arguments and as a Channel's Impairments (the same each way).
struct LinkProfile {
  const char* name;
  double loss = 0;     // probability
  double reorder = 0;  // probability a frame is held back (others overtake it)
  Duration delay{0};
  Duration jitter{0};
  std::uint64_t rate_bps = 0;
  std::size_t limit = 1000;  // frames queued or in flight (netem's default limit)

  Impairments channel() const {
    Impairments imp;
    imp.loss = loss;
    imp.reorder = reorder;
    imp.delay = delay;
    imp.jitter = jitter;
    imp.rate_bps = rate_bps;
    imp.queue_limit = limit;
    return imp;
  }
  // `tc qdisc add dev X root netem <these>`. netem reorders by sending the chosen frames
  // without the delay; a reordering profile therefore gets a 1 ms delay for the others.
  std::vector<std::string> netem_args() const {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    std::vector<std::string> a = {"limit", std::to_string(limit)};
    Duration d = delay;
    if (reorder > 0 && d < std::chrono::milliseconds(1)) d = std::chrono::milliseconds(1);
    if (d.count() > 0) {
      a.insert(a.end(), {"delay", std::to_string(duration_cast<microseconds>(d).count()) + "us"});
      if (jitter.count() > 0)
        a.push_back(std::to_string(duration_cast<microseconds>(jitter).count()) + "us");
    }
    if (reorder > 0) a.insert(a.end(), {"reorder", std::to_string(reorder * 100) + "%"});
    if (loss > 0) a.insert(a.end(), {"loss", std::to_string(loss * 100) + "%"});
    if (rate_bps > 0) a.insert(a.end(), {"rate", std::to_string(rate_bps / 1000) + "kbit"});
    return a;
  }
};

// gtest prints a profile by its name, not its bytes.
inline void PrintTo(const LinkProfile& p, std::ostream* os) {
  *os << p.name;
}

// True if netem qdiscs can be made here (sch_netem built in or loadable); *why says why not.
inline bool netem_available(std::string* why) {
  const std::string ns = "usnet-netem-probe-" + std::to_string(::getpid());
  if (run({"ip", "netns", "add", ns}) != 0) {
    *why = "cannot create a namespace to probe netem";
    return false;
  }
  std::string out;
  const int rc = run({"sh", "-c",
                      "ip -n " + ns + " link set lo up && tc -n " + ns +
                          " qdisc add dev lo root netem delay 1ms 2>&1"},
                     &out);
  run({"ip", "netns", "del", ns});
  if (rc == 0) return true;
  *why = "`tc qdisc add ... netem` fails (" + out.substr(0, out.find('\n')) +
         "): the kernel has no sch_netem";
  return false;
}

// Runs fn with the calling thread inside namespace `ns`, then returns to where it was.
inline bool with_netns(const std::string& ns, const std::function<void()>& fn) {
  const int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  const bool entered = self >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
  if (entered) {
    fn();
    if (::setns(self, CLONE_NEWNET) != 0) std::abort();  // never go on in the wrong namespace
  }
  if (self >= 0) ::close(self);
  if (target >= 0) ::close(target);
  return entered;
}

// Joins two TAPs (the user ends of usnet-k0 and usnet-u0) through a Channel each way, on a
// thread of its own, in real time (steady_clock mapped onto Instant).
class TapRelay {
 public:
  TapRelay(std::unique_ptr<TapDevice> k, std::unique_ptr<TapDevice> u, const Impairments& imp,
           std::uint64_t seed)
      : tap_{std::move(k), std::move(u)}, chan_{Channel(imp, seed), Channel(imp, seed + 1)} {
    thread_ = std::thread([this] { loop(); });
  }
  TapRelay(const TapRelay&) = delete;
  TapRelay& operator=(const TapRelay&) = delete;
  ~TapRelay() {
    stop_ = true;
    thread_.join();
  }
  // Frames from K to U [0] and from U to K [1]. Read after the relay has stopped, or
  // approximately while it runs.
  const ChannelStats& stats(int dir) const { return chan_[dir].stats(); }

 private:
  void loop() {
    const auto start = std::chrono::steady_clock::now();
    auto now = [&] { return kEpoch + (std::chrono::steady_clock::now() - start); };
    std::vector<Packet> frames;
    while (!stop_) {
      for (int d = 0; d < 2; ++d) {
        frames.clear();
        tap_[d]->receive(now(), frames, 256);
        for (Packet& f : frames)
          chan_[d].send(now(), std::move(f));
      }
      for (int d = 0; d < 2; ++d) {
        frames.clear();
        chan_[d].receive(now(), frames, 1024);
        for (Packet& f : frames)
          tap_[1 - d]->transmit(now(), std::move(f));
        tap_[1 - d]->flush(now());
      }
      // Sleep until a frame arrives or the next one is due (at most 50 ms, to see stop_).
      Instant next = earliest(chan_[0].next_deadline(), chan_[1].next_deadline());
      const Instant t = now();
      const Duration wait = next == kNever ? Duration(std::chrono::milliseconds(50))
                                           : std::clamp(next - t, Duration(0),
                                                        Duration(std::chrono::milliseconds(50)));
      pollfd p[2] = {{tap_[0]->pollable_fd(), POLLIN, 0}, {tap_[1]->pollable_fd(), POLLIN, 0}};
      const timespec ts{0, static_cast<long>(wait.count())};
      ::ppoll(p, 2, &ts, nullptr);
    }
  }

  std::unique_ptr<TapDevice> tap_[2];
  Channel chan_[2];
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace usnet::interop
