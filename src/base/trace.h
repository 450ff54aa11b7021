// The call trace of DESIGN.md invariant 6: each socket call and each received packet is
// logged with the path it took through the layers, under the seed's names, e.g.
//   socket(AF_INET, SOCK_DGRAM, 0) -> sock_create -> inet_create -> udp_init_sock = 3
//   rx eth0 98B -> eth_rcv -> ip_rcv -> icmp_rcv -> icmp_echo
//
// A path is opened by begin(), extended by step() from each layer it passes, and printed by
// end(). Paths nest (a blocking call runs the stack, which receives packets), so open paths
// form a stack. When tracing is off every call is a single branch.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace usnet {

class Tracer {
 public:
  using Sink = std::function<void(std::string_view line)>;

  bool enabled() const noexcept { return static_cast<bool>(sink_); }
  // True while a path is open (a call or a packet is being traced).
  bool in_path() const noexcept { return !open_.empty(); }
  // Extends the open path, or logs a line of its own when none is open (timers).
  void event(std::string_view name) {
    if (!enabled()) return;
    if (open_.empty()) {
      note(name);
    } else {
      step(name);
    }
  }
  // An empty sink turns tracing off.
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  void begin(std::string head) {
    if (enabled()) open_.push_back(std::move(head));
  }
  void step(std::string_view name) {
    if (enabled() && !open_.empty()) {
      open_.back() += " -> ";
      open_.back() += name;
    }
  }
  // Closes the innermost path, appending `tail` (" = 3", " drop: bad checksum").
  void end(std::string_view tail = {}) {
    if (!enabled() || open_.empty()) return;
    std::string line = prefix_ + std::move(open_.back());
    open_.pop_back();
    line += tail;
    sink_(line);
  }
  // A one-off line outside any path (timers, device events).
  void note(std::string_view text) {
    if (enabled()) sink_(prefix_ + std::string(text));
  }

 private:
  Sink sink_;
  std::string prefix_;
  std::vector<std::string> open_;
};

// Opens a path for the lifetime of a scope; the result is attached with set_result().
class TraceScope {
 public:
  TraceScope(Tracer& t, std::string head) : t_(t) { t_.begin(std::move(head)); }
  ~TraceScope() { t_.end(tail_); }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
  void set_tail(std::string tail) { tail_ = std::move(tail); }

 private:
  Tracer& t_;
  std::string tail_;
};

}  // namespace usnet
