// TCP helpers for simulations: sockets driven through the sock_* calls, and a bulk
// transfer whose bytes follow a seeded pattern so the receiver can check every byte.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
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

// The pattern bytes at stream offsets [off, off + out.size()), a word at a time: what
// pattern_byte gives byte by byte, at a fraction of the cost (gigabyte transfers).
inline void fill_pattern(std::uint64_t off, MutableByteSpan out, std::uint64_t seed) {
  auto word = [seed](std::uint64_t w) {
    std::uint64_t x = w * 0x9e3779b97f4a7c15ULL + seed;
    x ^= x >> 31;
    return x * 0xbf58476d1ce4e5b9ULL;
  };
  std::size_t i = 0;
  // Up to the next multiple of 8 in the stream, then whole words (byte k of a word is
  // bits 8k.. of its value: the little-endian layout, copied at once), then the tail.
  for (; i < out.size() && (off + i) % 8 != 0; ++i)
    out[i] = static_cast<std::byte>(word((off + i) / 8) >> (8 * ((off + i) % 8)));
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= out.size(); i += 8) {
      const std::uint64_t x = word((off + i) / 8);
      std::memcpy(out.data() + i, &x, 8);
    }
  }
  for (; i < out.size(); ++i)
    out[i] = static_cast<std::byte>(word((off + i) / 8) >> (8 * ((off + i) % 8)));
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
  std::uint64_t mismatched_bytes = 0;
  bool close_when_sent = true;
  bool closed = false;
  Digest tx_digest;
  Digest rx_digest;
  std::vector<std::byte> buf = std::vector<std::byte>(256 * 1024);
  std::vector<std::byte> pending;
  std::vector<std::byte> expected;
  std::size_t pending_off = 0;

  // One step: write what fits, read what is there. True when the receiver saw EOF.
  bool step() {
    while (tx != nullptr && sent < total) {
      if (pending_off == pending.size()) {
        // The next piece of the pattern, generated once however often the send is retried.
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - sent));
        pending.resize(n);
        fill_pattern(sent, pending, seed);
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
      expected.resize(r->copied);
      fill_pattern(received, expected, seed);
      if (std::memcmp(buf.data(), expected.data(), r->copied) != 0) {
        for (std::size_t i = 0; i < r->copied; ++i) {
          if (buf[i] != expected[i]) {
            mismatch = true;
            mismatched_bytes++;
          }
        }
      }
      rx_digest.add(ByteSpan(buf.data(), r->copied));
      received += r->copied;
    }
    return eof;
  }
};

struct Conn {
  Socket* client = nullptr;
  Socket* server = nullptr;
};

// a connects to a listener on b:port; returns both ends once accepted. On a lossy link a
// connect() can fail as it would for any program (ARP unanswered three times is
// EHOSTUNREACH, as on Linux): like a program, try again, a few times.
inline Conn connect_pair(SimNet& net, std::uint16_t port) {
  Conn c;
  Socket* l = tcp_listener(*net.b, port);
  for (int attempt = 0; attempt < 5; ++attempt) {
    c.client = tcp_socket(*net.a);
    auto st = sock_connect(*c.client, SockAddr::inet(kAddrB, port), 0);
    EXPECT_EQ(st.error(), Error::kInProgress);
    net.run_until([&] { return state_of(*c.client) != TcpState::kSynSent; },
                  std::chrono::seconds(200));
    if (state_of(*c.client) == TcpState::kEstablished) break;
    std::printf(
        "connect attempt %d failed: %s\n", attempt + 1,
        c.client->pending_error ? std::string(error_name(*c.client->pending_error)).c_str() : "?");
    EXPECT_TRUE(sock_close(*net.a, c.client->fd));
    c.client = nullptr;
  }
  if (c.client == nullptr) {
    ADD_FAILURE() << "no connection after 5 attempts";
    return c;
  }
  Socket* accepted = nullptr;
  EXPECT_TRUE(net.run_until([&] {
    auto r = sock_accept(*l, 0);
    if (r) accepted = *r;
    return accepted != nullptr;
  }));
  c.server = accepted;
  return c;
}

struct TransferResult {
  bool ok = false;
  Duration elapsed{0};
  std::uint64_t retrans = 0;
  std::uint64_t mismatched_bytes = 0;
};

// Connects a to b, sends `bytes` from a to b, then both ends close (a ends in TIME_WAIT, b
// CLOSED). With `intact` (the default) every byte must arrive as sent; without it the
// transfer must still complete, and the bytes that differ are counted in the result.
inline TransferResult transfer_and_close(SimNet& net, std::uint64_t seed, std::uint64_t bytes,
                                         Duration limit, bool intact = true) {
  TransferResult res;
  Conn c = connect_pair(net, 5001);
  if (c.server == nullptr) return res;
  Transfer t;
  t.tx = c.client;
  t.rx = c.server;
  t.total = bytes;
  t.seed = seed;
  const Instant start = net.now;
  const bool done = net.run_until([&] { return t.step(); }, limit);
  res.elapsed = net.now - start;
  EXPECT_TRUE(done) << "seed " << seed << ": received " << t.received << " of " << bytes << " "
                    << tcp_state_name(state_of(*c.client));
  EXPECT_EQ(t.received, bytes) << "seed " << seed;
  if (intact) {
    EXPECT_FALSE(t.mismatch) << "seed " << seed;
    EXPECT_EQ(t.rx_digest.h, t.tx_digest.h) << "seed " << seed;
  }
  EXPECT_TRUE(sock_shutdown(*c.server, SHUT_WR));
  const bool closed = net.run_until(
      [&] {
        return state_of(*c.client) == TcpState::kTimeWait &&
               state_of(*c.server) == TcpState::kClosed;
      },
      std::chrono::seconds(600));
  EXPECT_TRUE(closed) << "seed " << seed << " " << tcp_state_name(state_of(*c.client)) << " "
                      << tcp_state_name(state_of(*c.server));
  res.retrans = net.a->mib().TcpRetransSegs;
  res.mismatched_bytes = t.mismatched_bytes;
  res.ok = done && closed && (!intact || !t.mismatch) && t.received == bytes;
  return res;
}

}  // namespace usnet::sim
