// TCP helpers for simulations: sockets driven through the sock_* calls, and a bulk
// transfer whose bytes follow a seeded pattern so the receiver can check every byte.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sim_net.h"
#include "transport/tcp/tcp.h"

namespace usnet::sim {

inline Socket* tcp_socket(Stack& s) {
  auto r = sock_create(s, AF_INET, SOCK_STREAM, 0);
  EXPECT_TRUE(r);
  return r ? *r : nullptr;
}

inline Socket* tcp_listener(Stack& s, std::uint16_t port, int backlog = 128) {
  Socket* l = tcp_socket(s);
  if (l == nullptr) return nullptr;
  EXPECT_TRUE(sock_bind(*l, SockAddr::inet({}, port)));
  EXPECT_TRUE(sock_listen(*l, backlog));
  return l;
}

inline TcpState state_of(const Socket& s) {
  return static_cast<const TcpSock&>(s).state;
}

// The byte at stream offset i of a transfer (a pattern no two nearby offsets share).
inline std::byte pattern_byte(std::uint64_t i, std::uint64_t seed) {
  std::uint64_t x = (i / 8) * 0x9e3779b97f4a7c15ULL + seed;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  return static_cast<std::byte>(x >> (8 * (i % 8)));
}

// FNV-1a over a stream, fed in pieces.
struct Digest {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void add(ByteSpan b) {
    for (std::byte c : b) {
      h ^= static_cast<std::uint8_t>(c);
      h *= 0x100000001b3ULL;
    }
  }
};

// Sends `total` pattern bytes from `tx` while reading them at `rx`; checks every byte in
// order as it arrives. Returns the receiver's digest; `sent_digest` gets the sender's.
struct Transfer {
  Socket* tx = nullptr;
  Socket* rx = nullptr;
  std::uint64_t total = 0;
  std::uint64_t seed = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  bool eof = false;
  bool mismatch = false;
  bool close_when_sent = true;
  bool closed = false;
  Digest tx_digest;
  Digest rx_digest;
  std::vector<std::byte> buf = std::vector<std::byte>(256 * 1024);
  std::vector<std::byte> pending;
  std::size_t pending_off = 0;

  // One step: write what fits, read what is there. True when the receiver saw EOF.
  bool step() {
    while (tx != nullptr && sent < total) {
      if (pending_off == pending.size()) {
        // The next piece of the pattern, generated once however often the send is retried.
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - sent));
        pending.resize(n);
        for (std::size_t i = 0; i < n; ++i)
          pending[i] = pattern_byte(sent + i, seed);
        pending_off = 0;
      }
      const ByteSpan iov[] = {ByteSpan(pending).subspan(pending_off)};
      auto r = sock_sendmsg(*tx, SendMsg{iov, nullptr}, MSG_DONTWAIT);
      if (!r || *r == 0) break;
      tx_digest.add(iov[0].first(*r));
      sent += *r;
      pending_off += *r;
    }
    if (tx != nullptr && sent == total && close_when_sent && !closed) {
      closed = true;
      EXPECT_TRUE(sock_shutdown(*tx, SHUT_WR));
    }
    while (rx != nullptr && !eof) {
      const MutableByteSpan iov[] = {MutableByteSpan(buf)};
      auto r = sock_recvmsg(*rx, RecvMsg{iov}, MSG_DONTWAIT);
      if (!r) break;
      if (r->copied == 0) {
        eof = true;
        break;
      }
      for (std::size_t i = 0; i < r->copied; ++i) {
        if (buf[i] != pattern_byte(received + i, seed)) mismatch = true;
      }
      rx_digest.add(ByteSpan(buf.data(), r->copied));
      received += r->copied;
    }
    return eof;
  }
};

}  // namespace usnet::sim
