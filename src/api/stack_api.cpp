// The C calls that build runtimes and stacks: what `ip link`, `ip addr` and `ip route` do
// for a kernel, plus simulated wires, tracing and counters.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "api/errno_out.h"
#include "api/handles.h"
#include "base/errno_map.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "transport/tcp/tcp.h"
#include "usnet/usnet.h"

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

extern "C" {

usnet_runtime* usnet_runtime_new(void) {
  return new (std::nothrow) usnet_runtime;  // NOLINT: the C caller owns it
}

void usnet_runtime_free(usnet_runtime* rt) {
  if (rt == nullptr) return;
  for (int fd : fd_map().fds_of(rt))
    usnet_close(fd);
  for (auto& h : rt->stacks) {
    if (current_stack() == h.get()) set_current_stack(nullptr);
    if (current_stack() == h.get()) set_default_stack(nullptr);
  }
  delete rt;  // NOLINT: pairs with usnet_runtime_new
}

int usnet_runtime_poll(usnet_runtime* rt, int timeout_ms) {
  if (rt == nullptr) return fail(EINVAL);
  std::unique_lock lock(rt->rt.mutex());
  rt->rt.after_call();
  if (timeout_ms > 0) {
    rt->rt.wait_activity(lock, rt->rt.now() + std::chrono::milliseconds(timeout_ms));
  }
  return 0;
}

usnet_stack* usnet_stack_new(usnet_runtime* rt, const char* name, uint64_t seed) {
  if (rt == nullptr) {
    errno = EINVAL;
    return nullptr;
  }
  std::lock_guard lock(rt->rt.mutex());
  StackConfig cfg;
  cfg.name = name != nullptr ? name : fmt::format("stack{}", rt->stacks.size());
  // Seed 0: no seed, so the stack draws its Rng seed and its secrets from getrandom().
  if (seed != 0) cfg.seed = seed;
  Stack& s = rt->rt.add_stack(cfg);
  apply_trace_env(s);
  rt->stacks.push_back(rt->adopt(s));
  return rt->stacks.back().get();
}

int usnet_stack_use(usnet_stack* stack) {
  set_current_stack(stack);
  return 0;
}

int usnet_stack_set_default(usnet_stack* stack) {
  set_default_stack(stack);
  return 0;
}

usnet_stack* usnet_stack_current(void) {
  return current_stack();
}

usnet_runtime* usnet_stack_runtime(usnet_stack* stack) {
  return stack != nullptr ? stack->runtime : nullptr;
}

int usnet_stack_add_address(usnet_stack* stack, int ifindex, const char* cidr) {
  if (stack == nullptr || cidr == nullptr || ifindex <= 0) return fail(EINVAL);
  std::lock_guard lock(stack->runtime->rt.mutex());
  const std::string_view text(cidr);
  if (text.find(':') != std::string_view::npos) {
    // IPv6 (`ip -6 addr add CIDR dev IF nodad`): usable at once.
    auto c6 = Ipv6Cidr::parse(text);
    if (!c6) return fail(EINVAL);
    if (auto st = stack->stack->add_address6(static_cast<std::uint32_t>(ifindex), *c6); !st) {
      return fail(st.error());
    }
    return 0;
  }
  auto c = Ipv4Cidr::parse(text);
  if (!c) return fail(EINVAL);
  if (auto st = stack->stack->add_address(static_cast<std::uint32_t>(ifindex), *c); !st) {
    return fail(st.error());
  }
  stack->runtime->rt.after_call();  // send the gratuitous ARP now
  return 0;
}

int usnet_stack_add_route(usnet_stack* stack, const char* dst_cidr, const char* gateway,
                          int ifindex) {
  if (stack == nullptr || dst_cidr == nullptr || ifindex < 0) return fail(EINVAL);
  std::lock_guard lock(stack->runtime->rt.mutex());
  auto dst = Ipv4Cidr::parse(dst_cidr);
  if (!dst) return fail(EINVAL);
  Ipv4Address gw;
  if (gateway != nullptr) {
    auto g = Ipv4Address::parse(gateway);
    if (!g) return fail(EINVAL);
    gw = *g;
  }
  if (auto st = stack->stack->add_route(*dst, gw, static_cast<std::uint32_t>(ifindex)); !st) {
    return fail(st.error());
  }
  return 0;
}

int usnet_trace(usnet_stack* stack, int enable) {
  if (stack == nullptr) return fail(EINVAL);
  std::lock_guard lock(stack->runtime->rt.mutex());
  enable_trace(*stack->stack, enable != 0);
  return 0;
}

static int write_all(int fd, const std::string& out) {
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::write(fd, out.data() + off, out.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

int usnet_stack_drain(usnet_stack* stack, int timeout_ms) {
  if (stack == nullptr) return fail(EINVAL);
  // FIN_WAIT_2 and TIME_WAIT are done: the peer has it all.
  auto draining = [&] {
    std::lock_guard lock(stack->runtime->rt.mutex());
    int n = 0;
    stack->stack->tcp().for_each([&](const TcpSock& sk) {
      if (sk.owner != TcpSock::Owner::kOrphan) return;
      if (sk.state == TcpState::kFinWait1 || sk.state == TcpState::kClosing ||
          sk.state == TcpState::kLastAck) {
        ++n;
      }
    });
    return n;
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  int left = draining();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    (void)usnet_runtime_poll(stack->runtime, 10);
    left = draining();
  }
  return left;
}

int usnet_stack_dump_counters(usnet_stack* stack, int fd) {
  if (stack == nullptr) return fail(EINVAL);
  std::string out;
  std::unique_lock lock(stack->runtime->rt.mutex());
  stack->stack->mib().for_each(
      [&](std::string_view name, std::uint64_t v) { out += fmt::format("{:<32}{}\n", name, v); });
  lock.unlock();
  return write_all(fd, out);
}

int usnet_stack_dump_sockets(usnet_stack* stack, int fd) {
  if (stack == nullptr) return fail(EINVAL);
  std::unique_lock lock(stack->runtime->rt.mutex());
  std::string out = usnet::tcp_dump_sockets(*stack->stack);
  lock.unlock();
  return write_all(fd, out);
}

}  // extern "C"
