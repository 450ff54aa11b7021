// The interposed lookup calls (resolver.h). Each asks lookups_on_usnet() first and, when the
// answer is no, is libc's own call; when yes, the names come from resolve() and the rest of
// the result (services, socket types, flags) is still glibc's: getaddrinfo is asked again
// with each address as a numeric host, so its answers have exactly glibc's shape.
#include "preload/resolver.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_set>

#include "preload/preload.h"

namespace usnet::dns {
namespace {

std::string slurp(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

Files read_files() {
  Files f;
  f.conf = parse_resolv_conf(slurp(env_or("USNET_RESOLV_CONF", "/etc/resolv.conf")));
  f.hosts = slurp(env_or("USNET_HOSTS", "/etc/hosts"));
  f.dns = nsswitch_hosts_uses_dns(slurp("/etc/nsswitch.conf"));
  return f;
}

bool lookups_on_usnet(const Files& files) {
  if (preload::inside() || !preload::configured()) return false;
  return any_server_on_usnet(files.conf);
}

Resolved resolve(const Files& files, const std::string& name, bool want_v4, bool want_v6) {
  Resolved r;
  // files first (nsswitch.conf's usual "files dns").
  const HostsMatch h = hosts_lookup(files.hosts, name);
  if ((want_v4 && !h.v4.empty()) || (want_v6 && !h.v6.empty())) {
    r.status = Lookup::kFound;
    r.canonical = h.canonical;
    if (want_v4) r.v4 = h.v4;
    if (want_v6) r.v6 = h.v6;
    return r;
  }
  if (!files.dns) return r;
  // res_search's order of names, and its verdict when none has an answer: NO_DATA if some
  // name exists, TRY_AGAIN if some server did not answer, else HOST_NOT_FOUND.
  bool nodata = false;
  bool again = false;
  for (const std::string& candidate : search_candidates(name, files.conf)) {
    for (const std::uint16_t qtype : {kTypeA, kTypeAaaa}) {
      if ((qtype == kTypeA && !want_v4) || (qtype == kTypeAaaa && !want_v6)) continue;
      Answer a;
      switch (query(files.conf, candidate, qtype, &a)) {
        case Lookup::kFound:
          r.status = Lookup::kFound;
          if (r.canonical.empty()) r.canonical = a.canonical;
          r.v4.insert(r.v4.end(), a.a.begin(), a.a.end());
          r.v6.insert(r.v6.end(), a.aaaa.begin(), a.aaaa.end());
          break;
        case Lookup::kNoData:
          nodata = true;
          break;
        case Lookup::kAgain:
          again = true;
          break;
        case Lookup::kNoName:
        case Lookup::kFail:
          break;
      }
    }
    if (r.status == Lookup::kFound) return r;
  }
  r.status = nodata ? Lookup::kNoData : again ? Lookup::kAgain : Lookup::kNoName;
  return r;
}

}  // namespace usnet::dns

// ---- the interposed calls -------------------------------------------------------------

namespace {

using namespace usnet::dns;  // NOLINT(google-build-using-namespace): the C edge

struct RealLookups {
  int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**);
  void (*freeaddrinfo)(addrinfo*);
  int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
  hostent* (*gethostbyname)(const char*);
  hostent* (*gethostbyname2)(const char*, int);
  int (*gethostbyname_r)(const char*, hostent*, char*, size_t, hostent**, int*);
  int (*gethostbyname2_r)(const char*, int, hostent*, char*, size_t, hostent**, int*);
};

const RealLookups& real_lookups() {
  static const RealLookups r = [] {
    RealLookups t{};
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): dlsym
    t.getaddrinfo = reinterpret_cast<decltype(t.getaddrinfo)>(::dlsym(RTLD_NEXT, "getaddrinfo"));
    t.freeaddrinfo = reinterpret_cast<decltype(t.freeaddrinfo)>(::dlsym(RTLD_NEXT, "freeaddrinfo"));
    t.getnameinfo = reinterpret_cast<decltype(t.getnameinfo)>(::dlsym(RTLD_NEXT, "getnameinfo"));
    t.gethostbyname =
        reinterpret_cast<decltype(t.gethostbyname)>(::dlsym(RTLD_NEXT, "gethostbyname"));
    t.gethostbyname2 =
        reinterpret_cast<decltype(t.gethostbyname2)>(::dlsym(RTLD_NEXT, "gethostbyname2"));
    t.gethostbyname_r =
        reinterpret_cast<decltype(t.gethostbyname_r)>(::dlsym(RTLD_NEXT, "gethostbyname_r"));
    t.gethostbyname2_r =
        reinterpret_cast<decltype(t.gethostbyname2_r)>(::dlsym(RTLD_NEXT, "gethostbyname2_r"));
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
    return t;
  }();
  return r;
}

// The lists this library made (each node one block from malloc, as below); freeaddrinfo
// gives any other list to libc.
std::mutex g_lists_mu;
std::unordered_set<addrinfo*>& our_lists() {
  static auto* s = new std::unordered_set<addrinfo*>;  // never destroyed: used at exit
  return *s;
}

struct Node {
  addrinfo ai;
  sockaddr_storage addr;
};

void free_ours(addrinfo* ai) {
  while (ai != nullptr) {
    addrinfo* next = ai->ai_next;
    std::free(ai->ai_canonname);
    std::free(ai);  // the Node holding it
    ai = next;
  }
}

// A copy of libc's list in our own nodes, appended at *tail.
bool copy_list(const addrinfo* from, addrinfo*** tail) {
  for (; from != nullptr; from = from->ai_next) {
    auto* n = static_cast<Node*>(std::calloc(1, sizeof(Node)));
    if (n == nullptr || from->ai_addrlen > sizeof(n->addr)) {
      std::free(n);
      return false;
    }
    n->ai = *from;
    n->ai.ai_canonname = nullptr;
    n->ai.ai_next = nullptr;
    std::memcpy(&n->addr, from->ai_addr, from->ai_addrlen);
    n->ai.ai_addr = reinterpret_cast<sockaddr*>(&n->addr);
    **tail = &n->ai;
    *tail = &n->ai.ai_next;
  }
  return true;
}

int eai_of(Lookup l) {
  switch (l) {
    case Lookup::kFound:
      return 0;
    case Lookup::kNoName:
      return EAI_NONAME;
    case Lookup::kNoData:
      return EAI_NODATA;
    case Lookup::kAgain:
      return EAI_AGAIN;
    case Lookup::kFail:
      return EAI_FAIL;
  }
  return EAI_FAIL;
}

int herrno_of(Lookup l) {
  switch (l) {
    case Lookup::kFound:
      return 0;
    case Lookup::kNoName:
      return HOST_NOT_FOUND;
    case Lookup::kNoData:
      return NO_DATA;
    case Lookup::kAgain:
      return TRY_AGAIN;
    case Lookup::kFail:
      return NO_RECOVERY;
  }
  return NO_RECOVERY;
}

bool is_numeric(const char* node) {
  unsigned char buf[sizeof(in6_addr)];
  // inet_aton also takes the old forms ("10.1", "0x7f.1") getaddrinfo accepts as numeric.
  in_addr a4{};
  return inet_aton(node, &a4) != 0 || inet_pton(AF_INET6, node, buf) == 1;
}

int our_getaddrinfo(const Files& files, const char* node, const char* service,
                    const addrinfo* hints, addrinfo** res) {
  addrinfo h{};
  if (hints != nullptr) h = *hints;
  const int family = h.ai_family;
  // AI_ADDRCONFIG asks for the families the host has an address of other than loopback
  // (RFC 3493 6.1): usnet's own, from USNET_ADDR. Its link-local IPv6 address, which every
  // interface has, does not count: it reaches no name's global address.
  const bool config = (h.ai_flags & AI_ADDRCONFIG) != 0;
  const bool has_v4 = !config || usnet::preload::usnet_has_ipv4();
  const bool has_v6 = !config || usnet::preload::usnet_has_ipv6();
  const bool want_v4 = has_v4 && (family == AF_UNSPEC || family == AF_INET ||
                                  (family == AF_INET6 && (h.ai_flags & AI_V4MAPPED) != 0));
  const bool want_v6 = has_v6 && (family == AF_UNSPEC || family == AF_INET6);
  Resolved r = resolve(files, node, want_v4, want_v6);
  if (r.status != Lookup::kFound) return eai_of(r.status);
  // AF_INET6 + AI_V4MAPPED: IPv4 answers only when no IPv6 one came, unless AI_ALL.
  if (family == AF_INET6 && !r.v6.empty() && (h.ai_flags & AI_ALL) == 0) r.v4.clear();
  if (r.v4.empty() && r.v6.empty()) return EAI_NODATA;

  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  int err = 0;
  auto add = [&](const std::string& numeric, int fam) {
    addrinfo nh = h;
    nh.ai_family = fam;
    nh.ai_flags = (h.ai_flags | AI_NUMERICHOST) & ~(AI_CANONNAME | AI_ADDRCONFIG);
    if (fam == AF_INET6) nh.ai_flags &= ~(AI_V4MAPPED | AI_ALL);
    addrinfo* part = nullptr;
    const int e = real_lookups().getaddrinfo(numeric.c_str(), service, &nh, &part);
    if (e != 0) {
      if (err == 0) err = e;
      return;
    }
    if (!copy_list(part, &tail)) err = EAI_MEMORY;
    real_lookups().freeaddrinfo(part);
  };
  char text[INET6_ADDRSTRLEN];
  for (const auto& a : r.v4) {
    inet_ntop(AF_INET, a.data(), text, sizeof(text));
    if (family == AF_INET6) {
      add(std::string("::ffff:") + text, AF_INET6);
    } else {
      add(text, AF_INET);
    }
  }
  for (const auto& a : r.v6) {
    inet_ntop(AF_INET6, a.data(), text, sizeof(text));
    add(text, AF_INET6);
  }
  if (head == nullptr) return err != 0 ? err : EAI_NONAME;
  if (err == EAI_MEMORY) {
    free_ours(head);
    return EAI_MEMORY;
  }
  if ((h.ai_flags & AI_CANONNAME) != 0) {
    head->ai_canonname = strdup(r.canonical.empty() ? node : r.canonical.c_str());
  }
  {
    std::lock_guard lock(g_lists_mu);
    our_lists().insert(head);
  }
  *res = head;
  return 0;
}

// gethostbyname*_r's layout in the caller's buffer: the alias list (empty), the address
// pointers, the addresses, the name. ERANGE if it does not fit (the caller retries larger).
int fill_hostent(const Resolved& r, int af, const char* name, hostent* ret, char* buf,
                 size_t buflen, hostent** result) {
  const std::size_t len = af == AF_INET ? 4 : 16;
  const std::size_t count = af == AF_INET ? r.v4.size() : r.v6.size();
  const std::string canon = r.canonical.empty() ? std::string(name) : r.canonical;
  const auto base = reinterpret_cast<std::uintptr_t>(buf);
  const std::size_t pad = (alignof(char*) - base % alignof(char*)) % alignof(char*);
  const std::size_t need = pad + sizeof(char*) * (1 + count + 1) + len * count + canon.size() + 1;
  if (buflen < need) return ERANGE;
  char** aliases = reinterpret_cast<char**>(buf + pad);
  char** addrs = aliases + 1;
  char* data = reinterpret_cast<char*>(addrs + count + 1);
  aliases[0] = nullptr;
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(data, af == AF_INET ? r.v4[i].data() : r.v6[i].data(), len);
    addrs[i] = data;
    data += len;
  }
  addrs[count] = nullptr;
  std::memcpy(data, canon.c_str(), canon.size() + 1);
  ret->h_name = data;
  ret->h_aliases = aliases;
  ret->h_addrtype = af;
  ret->h_length = static_cast<int>(len);
  ret->h_addr_list = addrs;
  *result = ret;
  return 0;
}

int our_gethostbyname2_r(const Files& files, const char* name, int af, hostent* ret, char* buf,
                         size_t buflen, hostent** result, int* h_errnop) {
  *result = nullptr;
  if (af != AF_INET && af != AF_INET6) {
    *h_errnop = NETDB_INTERNAL;
    errno = EAFNOSUPPORT;
    return EAFNOSUPPORT;
  }
  const Resolved r = resolve(files, name, af == AF_INET, af == AF_INET6);
  if (r.status != Lookup::kFound || (af == AF_INET ? r.v4.empty() : r.v6.empty())) {
    *h_errnop = herrno_of(r.status == Lookup::kFound ? Lookup::kNoData : r.status);
    // glibc returns 0 with *result NULL for "not found"; an error code for a failure.
    return r.status == Lookup::kAgain ? EAGAIN : 0;
  }
  const int e = fill_hostent(r, af, name, ret, buf, buflen, result);
  if (e != 0) *h_errnop = NETDB_INTERNAL;
  return e;
}

// gethostbyname's static result (as glibc's: not thread-safe; gethostbyname_r is).
hostent* static_hostent(const Files& files, const char* name, int af) {
  static std::mutex mu;
  static hostent he;
  static std::vector<char> buf(1024);
  std::lock_guard lock(mu);
  for (;;) {
    hostent* out = nullptr;
    int herr = 0;
    const int e = our_gethostbyname2_r(files, name, af, &he, buf.data(), buf.size(), &out, &herr);
    if (e == ERANGE && buf.size() < (1U << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    h_errno = herr;
    return out;
  }
}

// Whether a name lookup of `node` may be usnet's: a name, not a number (numeric hosts
// never reach a name server, libc answers them as it always does).
bool candidate(const char* node) {
  return node != nullptr && *node != '\0' && !is_numeric(node);
}

}  // namespace

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  const bool numeric_only = hints != nullptr && (hints->ai_flags & AI_NUMERICHOST) != 0;
  const int family = hints != nullptr ? hints->ai_family : AF_UNSPEC;
  if (candidate(node) && !numeric_only &&
      (family == AF_UNSPEC || family == AF_INET || family == AF_INET6)) {
    const Files files = read_files();
    if (lookups_on_usnet(files)) return our_getaddrinfo(files, node, service, hints, res);
  }
  return real_lookups().getaddrinfo(node, service, hints, res);
}

void freeaddrinfo(addrinfo* ai) {
  if (ai == nullptr) return;
  {
    std::lock_guard lock(g_lists_mu);
    if (our_lists().erase(ai) == 0) {
      real_lookups().freeaddrinfo(ai);
      return;
    }
  }
  free_ours(ai);
}

int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen,
                     hostent** result, int* h_errnop) {
  if (candidate(name)) {
    const Files files = read_files();
    if (lookups_on_usnet(files))
      return our_gethostbyname2_r(files, name, af, ret, buf, buflen, result, h_errnop);
  }
  return real_lookups().gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen, hostent** result,
                    int* h_errnop) {
  if (candidate(name)) {
    const Files files = read_files();
    if (lookups_on_usnet(files))
      return our_gethostbyname2_r(files, name, AF_INET, ret, buf, buflen, result, h_errnop);
  }
  return real_lookups().gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

hostent* gethostbyname2(const char* name, int af) {
  if (candidate(name)) {
    const Files files = read_files();
    if (lookups_on_usnet(files)) return static_hostent(files, name, af);
  }
  return real_lookups().gethostbyname2(name, af);
}

hostent* gethostbyname(const char* name) {
  if (candidate(name)) {
    const Files files = read_files();
    if (lookups_on_usnet(files)) return static_hostent(files, name, AF_INET);
  }
  return real_lookups().gethostbyname(name);
}

// Reverse lookups: hosts(5), then a PTR query over usnet; the service part, and every case
// usnet has no part in, is libc's.
int getnameinfo(const sockaddr* addr, socklen_t addrlen, char* host, socklen_t hostlen, char* serv,
                socklen_t servlen, int flags) {
  const bool wants_name = host != nullptr && hostlen > 0 && (flags & NI_NUMERICHOST) == 0;
  const bool inet =
      addr != nullptr && ((addr->sa_family == AF_INET && addrlen >= sizeof(sockaddr_in)) ||
                          (addr->sa_family == AF_INET6 && addrlen >= sizeof(sockaddr_in6)));
  if (!wants_name || !inet) {
    return real_lookups().getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
  }
  const Files files = read_files();
  if (!lookups_on_usnet(files)) {
    return real_lookups().getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
  }
  const int family = addr->sa_family;
  std::array<std::uint8_t, 16> bytes{};
  if (family == AF_INET) {
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
  } else {
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, 16);
  }
  std::string name = hosts_reverse(files.hosts, family, bytes.data());
  if (name.empty() && files.dns) {
    std::array<std::uint8_t, 4> v4{};
    std::copy_n(bytes.begin(), 4, v4.begin());
    const std::string q = family == AF_INET ? reverse_name_v4(v4) : reverse_name_v6(bytes);
    Answer a;
    if (query(files.conf, q, kTypePtr, &a) == Lookup::kFound) name = a.ptr.front();
  }
  if (name.empty() && (flags & NI_NAMEREQD) != 0) return EAI_NONAME;
  // The numeric form (and the service) from libc; then the name over it if one was found.
  const int e = real_lookups().getnameinfo(addr, addrlen, host, hostlen, serv, servlen,
                                           flags | NI_NUMERICHOST);
  if (e != 0 || name.empty()) return e;
  if (name.size() + 1 > hostlen) return EAI_OVERFLOW;
  std::memcpy(host, name.c_str(), name.size() + 1);
  return 0;
}

}  // extern "C"
