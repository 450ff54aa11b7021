#include "preload/resolver_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "preload/preload.h"
#include "usnet/usnet.h"

namespace usnet::dns {
namespace {

using Clock = std::chrono::steady_clock;

// The socket calls of one side: usnet's C API or libc's (preload::real()). The caller
// holds a preload::Inside, so nothing here is interposed again.
struct Ops {
  int (*socket)(int, int, int);
  int (*connect)(int, const sockaddr*, socklen_t);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*recv)(int, void*, size_t, int);
  int (*poll)(pollfd*, nfds_t, int);
  int (*close)(int);
};

const Ops& usnet_ops() {
  static const Ops ops{usnet_socket, usnet_connect, usnet_send,
                       usnet_recv,   usnet_poll,    usnet_close};
  return ops;
}

const Ops& kernel_ops() {
  static const Ops ops{preload::real().socket, preload::real().connect, preload::real().send,
                       preload::real().recv,   preload::real().poll,    preload::real().close};
  return ops;
}

std::uint16_t random_id() {
  std::uint16_t id = 0;
  // RFC 5452 9.2: an unpredictable ID; getrandom(2) never blocks once the pool is ready.
  if (::getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id)) {
    id = static_cast<std::uint16_t>(Clock::now().time_since_epoch().count());
  }
  return id;
}

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(const Ops& ops, int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ops.poll(&p, 1, ms_left(deadline));
    if (n > 0) return (p.revents & (events | POLLERR | POLLHUP)) != 0;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Socket {
 public:
  Socket(const Ops& ops, int family, int type)
      : ops_(ops), fd_(ops.socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ops_.close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  const Ops& ops_;
  int fd_;
};

enum class Exchange { kAnswer, kTimeout, kError };

// One question over UDP to one server; the first acceptable answer in *answer.
Exchange over_udp(const Ops& ops, const NameServer& server, const std::vector<std::byte>& q,
                  std::uint16_t id, const std::string& name, std::uint16_t qtype,
                  Clock::time_point deadline, Answer* answer) {
  Socket s(ops, server.family(), SOCK_DGRAM);
  if (s.fd() < 0) return Exchange::kError;
  // A connected socket takes datagrams from the server's address and port only.
  if (ops.connect(s.fd(), server.addr(), server.len()) != 0 ||
      ops.send(s.fd(), q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) {
    return Exchange::kError;
  }
  std::vector<std::byte> buf(65536);
  while (wait_for(ops, s.fd(), POLLIN, deadline)) {
    const ssize_t n = ops.recv(s.fd(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Exchange::kError;  // ECONNREFUSED: an ICMP port unreachable from the server
    }
    auto r = parse_answer(ByteSpan(buf.data(), static_cast<std::size_t>(n)), id, name, qtype);
    if (!r.answer) continue;  // not the answer to this question: keep waiting
    *answer = std::move(*r.answer);
    return Exchange::kAnswer;
  }
  return Exchange::kTimeout;
}

// Sends or receives exactly `len` bytes on a non-blocking stream before the deadline.
bool stream_io(const Ops& ops, int fd, std::byte* data, std::size_t len, bool sending,
               Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = sending ? ops.send(fd, data + done, len - done, MSG_NOSIGNAL)
                              : ops.recv(fd, data + done, len - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return false;  // the server closed early
    if (errno != EAGAIN && errno != EINTR) return false;
    if (!wait_for(ops, fd, sending ? POLLOUT : POLLIN, deadline)) return false;
  }
  return true;
}

// The same question over TCP (RFC 1035 4.2.2: a two-byte length before each message).
Exchange over_tcp(const Ops& ops, const NameServer& server, const std::vector<std::byte>& q,
                  std::uint16_t id, const std::string& name, std::uint16_t qtype,
                  Clock::time_point deadline, Answer* answer) {
  Socket s(ops, server.family(), SOCK_STREAM);
  if (s.fd() < 0) return Exchange::kError;
  if (ops.connect(s.fd(), server.addr(), server.len()) != 0) {
    if (errno != EINPROGRESS) return Exchange::kError;
    if (!wait_for(ops, s.fd(), POLLOUT, deadline)) return Exchange::kTimeout;
  }
  std::vector<std::byte> framed(2);
  store_be<std::uint16_t>(framed, 0, static_cast<std::uint16_t>(q.size()));
  framed.insert(framed.end(), q.begin(), q.end());
  if (!stream_io(ops, s.fd(), framed.data(), framed.size(), true, deadline))
    return Exchange::kError;
  std::byte len[2];
  if (!stream_io(ops, s.fd(), len, 2, false, deadline)) return Exchange::kError;
  std::vector<std::byte> msg(load_be<std::uint16_t>(ByteSpan(len, 2), 0));
  if (!stream_io(ops, s.fd(), msg.data(), msg.size(), false, deadline)) return Exchange::kError;
  auto r = parse_answer(msg, id, name, qtype);
  if (!r.answer) return Exchange::kError;
  *answer = std::move(*r.answer);
  return Exchange::kAnswer;
}

Lookup classify(const Answer& a, std::uint16_t qtype) {
  switch (a.rcode) {
    case Rcode::kNoError: {
      const bool any = qtype == kTypeA      ? !a.a.empty()
                       : qtype == kTypeAaaa ? !a.aaaa.empty()
                                            : !a.ptr.empty();
      return any ? Lookup::kFound : Lookup::kNoData;
    }
    case Rcode::kNxDomain:
      return Lookup::kNoName;
    default:
      // SERVFAIL, REFUSED, FORMERR, NOTIMP: glibc's resolver moves to the next server and,
      // when none does better, says TRY_AGAIN (EAI_AGAIN).
      return Lookup::kAgain;
  }
}

}  // namespace

bool any_server_on_usnet(const ResolvConf& conf) {
  for (const NameServer& s : conf.servers) {
    if (preload::served_by_usnet(s.addr(), s.len())) return true;
  }
  return false;
}

Lookup query(const ResolvConf& conf, const std::string& name, std::uint16_t qtype, Answer* out) {
  if (conf.servers.empty()) return Lookup::kFail;
  const std::uint16_t id = random_id();
  const auto q = encode_query(id, name, qtype);
  if (!q) return Lookup::kNoName;  // a name no server could hold
  preload::Inside in;
  // Which side reaches each server, decided once per question.
  std::vector<const Ops*> side;
  for (const NameServer& s : conf.servers) {
    side.push_back(preload::served_by_usnet(s.addr(), s.len()) ? &usnet_ops() : &kernel_ops());
  }
  // rotate (resolv.conf(5)): spread the load by starting at a different server each time.
  static std::atomic<unsigned> next{0};
  const std::size_t first = conf.rotate ? next.fetch_add(1) % conf.servers.size() : 0;
  for (int attempt = 0; attempt < conf.attempts; ++attempt) {
    for (std::size_t k = 0; k < conf.servers.size(); ++k) {
      const std::size_t i = (first + k) % conf.servers.size();
      const auto deadline = Clock::now() + std::chrono::seconds(conf.timeout_s);
      Answer a;
      Exchange e = over_udp(*side[i], conf.servers[i], *q, id, name, qtype, deadline, &a);
      if (e == Exchange::kAnswer && a.truncated) {
        Answer full;
        if (over_tcp(*side[i], conf.servers[i], *q, id, name, qtype,
                     Clock::now() + std::chrono::seconds(conf.timeout_s),
                     &full) == Exchange::kAnswer) {
          a = std::move(full);
        }
      }
      if (e != Exchange::kAnswer) continue;
      const Lookup l = classify(a, qtype);
      // SERVFAIL, REFUSED, ...: another server may know (glibc's res_send does the same).
      if (l == Lookup::kAgain) continue;
      *out = std::move(a);
      return l;
    }
  }
  return Lookup::kAgain;
}

}  // namespace usnet::dns
