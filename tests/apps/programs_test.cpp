// Issue 8's "tests that must pass": unmodified programs from Debian's packages on usnet
// through `usnet run` (support/programs.h), the namespace's kernel as their peer, every byte
// compared by digest where the program moves a file, each bounded in time.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "apps/support/programs.h"

namespace usnet::apps {
namespace {

constexpr std::size_t k100MiB = 100U << 20;
const std::string kSupport = USNET_APPS_SUPPORT_DIR;

class Programs : public ProgramsFixture {
 protected:
  // A kernel `python3 -m http.server` serving the test's directory on port 8000.
  void kernel_http_server() {
    const pid_t pid = spawn_in_ns(
        {"python3", "-m", "http.server", "--bind", "0.0.0.0", "--directory", dir_, "8000"});
    ASSERT_TRUE(wait_kernel_listening(8000, pid));
  }

  // nginx.conf in the test's directory: one process (master_process off) serving `www`
  // with sendfile(2) from the file to the socket, on `listen` (nginx's listen directive).
  void write_nginx_conf(const std::string& listen, const std::string& www) const {
    std::ofstream(dir_ + "/nginx.conf")
        << "daemon off;\nmaster_process off;\n"
        << "pid " << dir_ << "/nginx.pid;\n"
        << "error_log " << dir_ << "/error.log info;\n"
        << "events { worker_connections 256; }\n"
        << "http {\n  access_log off;\n  sendfile on;\n"
        << "  client_body_temp_path " << dir_ << "/t-body;\n"
        << "  proxy_temp_path " << dir_ << "/t-proxy;\n"
        << "  fastcgi_temp_path " << dir_ << "/t-fcgi;\n"
        << "  uwsgi_temp_path " << dir_ << "/t-uwsgi;\n"
        << "  scgi_temp_path " << dir_ << "/t-scgi;\n"
        << "  server { listen " << listen << "; root " << www << "; }\n}\n";
  }

  std::string url(const char* host, int port, const std::string& file) const {
    return "http://" + std::string(host) + ":" + std::to_string(port) + "/" + file;
  }
};

TEST_F(Programs, CurlOnUsnetDownloadsFromKernelHttpServer) {
  const std::string want = digest(make_file("big", k100MiB));
  kernel_http_server();
  std::string out;
  ASSERT_EQ(run_usnet({"curl", "-sS", "--fail", "--max-time", "60", "-o", dir_ + "/got",
                       url(kKernel, 8000, "big")},
                      &out, 90),
            0)
      << out;
  EXPECT_EQ(digest(dir_ + "/got"), want);
}

TEST_F(Programs, WgetOnUsnetDownloadsFromKernelHttpServer) {
  const std::string want = digest(make_file("big", k100MiB));
  kernel_http_server();
  std::string out;
  ASSERT_EQ(run_usnet({"wget", "-q", "--timeout=60", "--tries=1", "-O", dir_ + "/got",
                       url(kKernel, 8000, "big")},
                      &out, 90),
            0)
      << out;
  EXPECT_EQ(digest(dir_ + "/got"), want);
}

TEST_F(Programs, KernelCurlDownloadsFromPythonHttpServerOnUsnet) {
  const std::string want = digest(make_file("big", k100MiB));
  std::string log;
  const pid_t run = start_usnet(
      {"python3", "-m", "http.server", "--bind", "0.0.0.0", "--directory", dir_, "8001"}, &log);
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 8001, run)) << slurp(log);
  std::string out;
  ASSERT_EQ(run_kernel({"curl", "-sS", "--fail", "--max-time", "60", "-o", dir_ + "/got",
                        url(kUsnet, 8001, "big")},
                       &out, 90),
            0)
      << out << slurp(log);
  EXPECT_EQ(digest(dir_ + "/got"), want);
}

TEST_F(Programs, KernelCurlDownloadsFromNginxOnUsnet) {
  const std::string www = dir_ + "/www";
  std::filesystem::create_directories(www);
  const std::string want = digest(make_file("www/big", k100MiB));
  write_nginx_conf("8080", www);
  std::string log;
  const pid_t run = start_usnet(
      {"nginx", "-p", dir_, "-e", dir_ + "/error.log", "-c", dir_ + "/nginx.conf"}, &log);
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 8080, run)) << slurp(log) << slurp(dir_ + "/error.log");
  std::string out;
  ASSERT_EQ(run_kernel({"curl", "-sS", "--fail", "--max-time", "60", "-o", dir_ + "/got",
                        url(kUsnet, 8080, "big")},
                       &out, 90),
            0)
      << out << slurp(dir_ + "/error.log");
  EXPECT_EQ(digest(dir_ + "/got"), want);
}

// Issue 11: an IPv6 client on usnet (an AF_INET6 socket of usnet's own, to a destination in
// usnet's on-link prefix) downloads from the kernel's dual-stack http.server.
TEST_F(Programs, CurlSixOnUsnetDownloadsFromKernelHttpServer) {
  ipv6_ = true;
  const std::string file = make_file("big6", 16U << 20);
  const pid_t server =
      spawn_in_ns({"python3", "-m", "http.server", "--bind", "::", "--directory", dir_, "8002"});
  ASSERT_TRUE(wait_kernel_listening(8002, server));
  std::string out;
  // The first connection retried for a bounded time: an address may be tentative while
  // duplicate address detection runs (RFC 4862 5.4), on either side.
  ASSERT_EQ(run_usnet({"curl", "-g", "-6", "-sS", "--fail", "--max-time", "60", "--retry", "5",
                       "--retry-delay", "1", "--retry-all-errors", "--connect-timeout", "3", "-o",
                       dir_ + "/got", "http://[" + std::string(kKernel6) + "]:8002/big6"},
                      &out, 90, {"USNET_PRELOAD_DEBUG=1"}),
            0)
      << out;
  // The socket was usnet's, AF_INET6 (the preload's debug line for its connect).
  EXPECT_NE(out.find("connect [" + std::string(kKernel6) + "]:8002 -> usnet"), std::string::npos)
      << out;
  EXPECT_TRUE(slurp(dir_ + "/got") == slurp(file)) << "the body differs from the file";
}

// Issue 11: nginx on usnet listening on [::] serves the kernel's curl -6 and, the socket
// being dual-stack (ipv6only=off: nginx sets IPV6_V6ONLY on `listen [::]` by default), the
// kernel's IPv4 curl on the same socket.
TEST_F(Programs, KernelCurlSixAndFourFromNginxOnUsnetListeningOnTheIpv6Wildcard) {
  ipv6_ = true;
  const std::string www = dir_ + "/www";
  std::filesystem::create_directories(www);
  const std::string file = make_file("www/page", 4U << 20);
  write_nginx_conf("[::]:80 ipv6only=off", www);
  std::string log;
  const pid_t run =
      start_usnet({"nginx", "-p", dir_, "-e", dir_ + "/error.log", "-c", dir_ + "/nginx.conf"},
                  &log, {"USNET_PRELOAD_DEBUG=1"});
  // The IPv4 half of the dual-stack listener answers first: then it listens.
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 80, run)) << slurp(log) << slurp(dir_ + "/error.log");
  EXPECT_NE(slurp(log).find("bind [::]:80 -> usnet"), std::string::npos) << slurp(log);
  std::string out;
  ASSERT_EQ(run_kernel({"curl", "-g", "-6", "-sS", "--fail", "--max-time", "60", "--retry", "5",
                        "--retry-delay", "1", "--retry-all-errors", "--connect-timeout", "3", "-o",
                        dir_ + "/got6", "http://[" + std::string(kUsnet6) + "]:80/page"},
                       &out, 90),
            0)
      << out << slurp(dir_ + "/error.log");
  EXPECT_TRUE(slurp(dir_ + "/got6") == slurp(file)) << "the IPv6 body differs from the file";
  ASSERT_EQ(run_kernel({"curl", "-4", "-sS", "--fail", "--max-time", "60", "-o", dir_ + "/got4",
                        url(kUsnet, 80, "page")},
                       &out, 90),
            0)
      << out << slurp(dir_ + "/error.log");
  EXPECT_TRUE(slurp(dir_ + "/got4") == slurp(file)) << "the IPv4 body differs from the file";
}

TEST_F(Programs, NcOnUsnetSendsToKernelNc) {
  const std::string file = make_file("data", 8U << 20);
  const pid_t server = spawn_in(ns_, {"nc", "-l", "-4", "7001"}, dir_ + "/got");
  ASSERT_TRUE(wait_kernel_listening(7001, server));
  std::string out;
  // -N: shutdown(SHUT_WR) at end of input, so the kernel's nc sees EOF and exits.
  ASSERT_EQ(run_usnet({"sh", "-c", "exec nc -N -4 " + std::string(kKernel) + " 7001 < " + file},
                      &out, 60),
            0)
      << out;
  EXPECT_EQ(wait_bg(server, 10), 0);
  EXPECT_EQ(digest(dir_ + "/got"), digest(file));
}

TEST_F(Programs, KernelNcSendsToNcOnUsnet) {
  const std::string file = make_file("data", 8U << 20);
  std::string log;
  const pid_t run = start_usnet({"sh", "-c", "exec nc -l -4 7002 > " + dir_ + "/got"}, &log);
  // nc -l takes one connection: no probe; it is ready once blocked in accept.
  ASSERT_TRUE(wait_blocked(run)) << slurp(log);
  std::string out;
  ASSERT_EQ(
      run_kernel({"sh", "-c", "exec nc -N " + std::string(kUsnet) + " 7002 < " + file}, &out, 60),
      0)
      << out;
  EXPECT_EQ(wait_run(run, 10'000), 0) << slurp(log);
  EXPECT_EQ(digest(dir_ + "/got"), digest(file));
}

TEST_F(Programs, SocatTcpBothWays) {
  const std::string file = make_file("data", 4U << 20);
  // usnet -> kernel: socat on usnet connects and sends the file.
  const pid_t server =
      spawn_in(ns_, {"socat", "-u", "TCP4-LISTEN:7003,reuseaddr", "STDOUT"}, dir_ + "/got1");
  ASSERT_TRUE(wait_kernel_listening(7003, server));
  std::string out;
  ASSERT_EQ(run_usnet({"socat", "-u", "OPEN:" + file, "TCP4:" + std::string(kKernel) + ":7003"},
                      &out, 60),
            0)
      << out;
  EXPECT_EQ(wait_bg(server, 10), 0);
  EXPECT_EQ(digest(dir_ + "/got1"), digest(file));
  // kernel -> usnet: socat on usnet listens and writes what it receives.
  std::string log;
  const pid_t run =
      start_usnet({"socat", "-u", "TCP4-LISTEN:7004,reuseaddr", "CREATE:" + dir_ + "/got2"}, &log);
  ASSERT_TRUE(wait_blocked(run)) << slurp(log);
  ASSERT_EQ(run_kernel({"socat", "-u", "OPEN:" + file, "TCP4:" + std::string(kUsnet) + ":7004"},
                       &out, 60),
            0)
      << out;
  EXPECT_EQ(wait_run(run, 10'000), 0) << slurp(log);
  EXPECT_EQ(digest(dir_ + "/got2"), digest(file));
}

TEST_F(Programs, SocatUdpBothWays) {
  // A kernel UDP echo (socat PIPE), asked by socat on usnet; then the other way round.
  const pid_t echo = spawn_in_ns({"socat", "UDP4-RECVFROM:7005", "PIPE"});
  ASSERT_GT(echo, 0);
  std::string out;
  // The kernel's socat binds in a moment; socat on usnet sends until an echo comes back.
  const std::string ask =
      "for i in 1 2 3 4 5 6 7 8 9 10; do r=$(echo hello-usnet | socat -T 1 - "
      "UDP4:" +
      std::string(kKernel) +
      ":7005); [ -n \"$r\" ] && echo \"$r\" "
      "&& exit 0; done; exit 1";
  ASSERT_EQ(run_usnet({"sh", "-c", ask}, &out, 30), 0) << out;
  EXPECT_NE(out.find("hello-usnet"), std::string::npos) << out;

  std::string log;
  const pid_t run = start_usnet({"socat", "UDP4-RECVFROM:7006", "PIPE"}, &log);
  ASSERT_TRUE(wait_blocked(run)) << slurp(log);
  ASSERT_EQ(run_kernel({"sh", "-c",
                        "echo hello-kernel | socat -T 5 - UDP4:" + std::string(kUsnet) + ":7006"},
                       &out, 30),
            0)
      << out;
  EXPECT_NE(out.find("hello-kernel"), std::string::npos) << out << slurp(log);
  EXPECT_EQ(wait_run(run, 10'000), 0) << slurp(log);
}

TEST_F(Programs, RedisServerOnUsnetUnderKernelRedisBenchmark) {
  std::string log;
  const pid_t run =
      start_usnet({"redis-server", "--port", "6379", "--bind", "0.0.0.0", "--protected-mode", "no",
                   "--save", "", "--appendonly", "no", "--dir", dir_},
                  &log);
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 6379, run)) << slurp(log);
  std::string out;
  ASSERT_EQ(run_kernel({"redis-benchmark", "-h", kUsnet, "-p", "6379", "-n", "100000", "-c", "50",
                        "-t", "set,get", "-q"},
                       &out, 120),
            0)
      << out;
  EXPECT_NE(out.find("SET:"), std::string::npos) << out;
  EXPECT_NE(out.find("GET:"), std::string::npos) << out;
  // redis-benchmark's SET writes the one key "key:__rand_int__" (no -r) with a 3-byte
  // value (-d 3).
  ASSERT_EQ(run_kernel({"redis-cli", "-h", kUsnet, "DBSIZE"}, &out), 0) << out;
  EXPECT_EQ(out, "1\n");
  ASSERT_EQ(run_kernel({"redis-cli", "-h", kUsnet, "STRLEN", "key:__rand_int__"}, &out), 0);
  EXPECT_EQ(out, "3\n");
  ASSERT_EQ(run_kernel({"redis-cli", "-h", kUsnet, "INFO", "stats"}, &out), 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("total_commands_processed:([0-9]+)"))) << out;
  EXPECT_GE(std::stol(m[1]), 200000) << out;
}

TEST_F(Programs, RedisCliOnUsnetAgainstKernelRedisServer) {
  const pid_t server =
      spawn_in_ns({"redis-server", "--port", "6380", "--bind", "0.0.0.0", "--protected-mode", "no",
                   "--save", "", "--appendonly", "no", "--dir", dir_});
  ASSERT_TRUE(wait_kernel_listening(6380, server));
  const std::string file = make_file("value", 1U << 20);
  std::string out;
  // A 1 MiB value through usnet (-x: the last argument from stdin), read back by the kernel.
  ASSERT_EQ(
      run_usnet({"sh", "-c",
                 "exec redis-cli -h " + std::string(kKernel) + " -p 6380 -x SET big < " + file},
                &out),
      0)
      << out;
  EXPECT_EQ(out, "OK\n");
  ASSERT_EQ(run_kernel({"sh", "-c",
                        "redis-cli -p 6380 --raw GET big | head -c 1048576 > " + dir_ + "/got"},
                       &out),
            0)
      << out;
  EXPECT_EQ(digest(dir_ + "/got"), digest(file));
  ASSERT_EQ(run_usnet({"redis-cli", "-h", kKernel, "-p", "6380", "STRLEN", "big"}, &out), 0) << out;
  EXPECT_EQ(out, "1048576\n");
}

TEST_F(Programs, Iperf3ServerOnUsnet) {
  std::string log;
  const pid_t run = start_usnet({"iperf3", "-s", "-4", "-p", "5201"}, &log);
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 5201, run)) << slurp(log);
  struct Case {
    std::vector<std::string> extra;
    const char* what;
  };
  const std::vector<Case> cases = {{{"-t", "5"}, "TCP"},
                                   {{"-t", "5", "-R"}, "TCP reverse"},
                                   {{"-u", "-b", "100M", "-t", "2"}, "UDP"},
                                   {{"-u", "-b", "100M", "-t", "2", "-R"}, "UDP reverse"}};
  for (const Case& c : cases) {
    std::vector<std::string> argv = {"iperf3", "-c", kUsnet, "-p", "5201", "-4", "-J"};
    argv.insert(argv.end(), c.extra.begin(), c.extra.end());
    std::string out;
    ASSERT_EQ(run_kernel(argv, &out, 30), 0) << c.what << ": " << out << slurp(log);
    EXPECT_EQ(out.find("\"error\""), std::string::npos) << c.what << ": " << out;
    std::smatch m;
    if (c.extra[0] == "-u") {
      // The receiver's report: packets arrived, and not most of them lost.
      ASSERT_TRUE(std::regex_search(out, m, std::regex("\"lost_percent\":\\s*([0-9.e+-]+)")))
          << out;
      EXPECT_LT(std::stod(m[1]), 50.0) << c.what << ": " << out;
    } else {
      // TCP: iperf3's receiver stops counting when the test time is up, so what was still
      // in the sender's and receiver's buffers then is sent but not counted: received is
      // at most sent and short of it by less than those buffers: the receiver's up to
      // tcp_rmem[2] (32 MiB, Linux 6.18's default, usnet's too) and the sender's up to
      // tcp_wmem[2] (4 MiB), with 4 MiB more for what is on the TAP.
      std::smatch sent;
      ASSERT_TRUE(std::regex_search(out, sent,
                                    std::regex("\"sum_sent\":\\s*\\{[^}]*?\"bytes\":\\s*([0-9]+)")))
          << out;
      ASSERT_TRUE(std::regex_search(
          out, m, std::regex("\"sum_received\":\\s*\\{[^}]*?\"bytes\":\\s*([0-9]+)")))
          << out;
      const long long got = std::stoll(m[1]);
      const long long put = std::stoll(sent[1]);
      EXPECT_GT(got, 0) << c.what;
      EXPECT_LE(got, put) << c.what;
      EXPECT_LT(put - got, (32LL + 4 + 4) << 20) << c.what << ": more lost than buffers hold";
    }
  }
}

TEST_F(Programs, AsyncioEchoServerOnUsnetUnder200KernelClients) {
  std::string log;
  const pid_t run = start_usnet({"python3", kSupport + "/asyncio_echo_server.py", "7007"}, &log);
  ASSERT_TRUE(wait_usnet_listening(kUsnet, 7007, run)) << slurp(log);
  std::string out;
  ASSERT_EQ(run_kernel({"python3", kSupport + "/echo_clients.py", kUsnet, "7007", "200", "65536"},
                       &out, 90),
            0)
      << out << slurp(log);
  EXPECT_NE(out.find("OK 200 13107200"), std::string::npos) << out;
}

TEST_F(Programs, SigintEndsNcBlockedInAccept) {
  std::string log;
  const pid_t run = start_usnet({"nc", "-l", "-4", "7008"}, &log);
  ASSERT_TRUE(wait_blocked(run)) << slurp(log);
  ASSERT_EQ(::kill(run, SIGINT), 0);
  // nc dies of the SIGINT `usnet run` passes on; the tool reports it as a shell does.
  EXPECT_EQ(wait_run(run, 1000), 128 + SIGINT) << "not ended within 1 s: " << slurp(log);
}

TEST_F(Programs, SigintRaisesKeyboardInterruptInPythonBlockedInRecv) {
  const pid_t server = spawn_in_ns({"nc", "-l", "-4", "7009"});
  ASSERT_TRUE(wait_kernel_listening(7009, server));
  std::string log;
  const pid_t run =
      start_usnet({"python3", "-c",
                   "import socket\ns = socket.create_connection(('" + std::string(kKernel) +
                       "', 7009))\nprint('connected', flush=True)\ns.recv(10)\n"},
                  &log);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (slurp(log).find("connected") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    ::usleep(10'000);  // between looks at its output
  }
  ASSERT_NE(slurp(log).find("connected"), std::string::npos) << slurp(log);
  ASSERT_TRUE(wait_blocked(run)) << slurp(log);
  ASSERT_EQ(::kill(run, SIGINT), 0);
  // Python turns SIGINT into KeyboardInterrupt, unwinds, and ends by SIGINT (Python 3.8+).
  EXPECT_EQ(wait_run(run, 1000), 128 + SIGINT) << "not ended within 1 s: " << slurp(log);
  EXPECT_NE(slurp(log).find("KeyboardInterrupt"), std::string::npos) << slurp(log);
}

TEST_F(Programs, NameLookupsThroughDnsmasqOverUsnet) {
  // The TAP first, so that dnsmasq can bind its kernel-side address; `usnet run` then uses
  // it as it is (and leaves it).
  ASSERT_EQ(in_ns({"ip", "tuntap", "add", "mode", "tap", "name", kTap}), 0);
  ASSERT_EQ(in_ns({"ip", "addr", "add", std::string(kKernel) + "/24", "dev", kTap}), 0);
  ASSERT_EQ(in_ns({"ip", "link", "set", kTap, "up"}), 0);
  const pid_t dns = spawn_in(
      ns_,
      {"dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--log-queries",
       "--log-facility=" + dir_ + "/dnsmasq.log", "--address=/name.test/198.18.3.77",
       "--address=/nx.test/", "--address=/web.test/" + std::string(kKernel), "--port", "53",
       "--listen-address=" + std::string(kKernel), "--bind-interfaces", "--pid-file="},
      dir_ + "/dnsmasq.out");
  // (--address=/nx.test/ answers NXDOMAIN; other names, with no upstream, REFUSED.)
  ASSERT_TRUE(wait_kernel_listening(53, dns));
  std::ofstream(dir_ + "/resolv.conf") << "nameserver " << kKernel << "\noptions timeout:2\n";
  std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost\n198.18.3.55 files.test\n";
  const std::vector<std::string> env = {"USNET_RESOLV_CONF=" + dir_ + "/resolv.conf",
                                        "USNET_HOSTS=" + dir_ + "/hosts"};
  const std::string script =
      "import socket\n"
      "print('A', sorted({a[4][0] for a in socket.getaddrinfo('name.test', 80, socket.AF_INET)}))\n"
      "print('B', socket.gethostbyname('www.name.test'))\n"
      "print('C', socket.gethostbyname('files.test'))\n"
      "print('D', socket.getaddrinfo('localhost', 0, socket.AF_INET)[0][4][0])\n"
      "try:\n  socket.getaddrinfo('www.nx.test', 80)\nexcept socket.gaierror as e:\n"
      "  print('E', e.errno == socket.EAI_NONAME)\n"
      "try:\n  socket.getaddrinfo('missing.invalid', 80)\nexcept socket.gaierror as e:\n"
      "  print('F', e.errno == socket.EAI_AGAIN)\n"
      "print('G', socket.getnameinfo(('198.18.3.55', 80), 0))\n"
      "print('H', socket.getnameinfo(('198.18.3.77', 80), socket.NI_NUMERICSERV))\n";
  std::string out;
  ASSERT_EQ(run_usnet({"python3", "-c", script}, &out, 30, env), 0) << out;
  EXPECT_NE(out.find("A ['198.18.3.77']"), std::string::npos) << out;
  EXPECT_NE(out.find("B 198.18.3.77"), std::string::npos) << out;
  EXPECT_NE(out.find("C 198.18.3.55"), std::string::npos) << out;  // hosts(5) first
  EXPECT_NE(out.find("D 127.0.0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("E True"), std::string::npos) << out;  // NXDOMAIN: EAI_NONAME
  // REFUSED: EAI_AGAIN, as glibc's resolver says when every server refuses.
  EXPECT_NE(out.find("F True"), std::string::npos) << out;
  // Reverse: hosts(5), then a PTR query (dnsmasq has none for --address: numeric).
  EXPECT_NE(out.find("G ('files.test', 'http')"), std::string::npos) << out;
  EXPECT_NE(out.find("H ('198.18.3.77', '80')"), std::string::npos) << out;
  // getent (glibc's getaddrinfo in C) too.
  ASSERT_EQ(run_usnet({"getent", "ahostsv4", "name.test"}, &out, 30, env), 0) << out;
  EXPECT_NE(out.find("198.18.3.77"), std::string::npos) << out;
  // curl resolves in a thread of its own (its threaded resolver), then fetches by name.
  kernel_http_server();
  const std::string file = make_file("page", 200000);
  ASSERT_EQ(run_usnet({"curl", "-sS", "--fail", "-o", dir_ + "/got", "http://web.test:8000/page"},
                      &out, 30, env),
            0)
      << out;
  EXPECT_EQ(digest(dir_ + "/got"), digest(file));
  // getent hosts: gethostbyname2 (AF_INET6, then AF_INET).
  ASSERT_EQ(run_usnet({"getent", "hosts", "name.test"}, &out, 30, env), 0) << out;
  EXPECT_NE(out.find("198.18.3.77     name.test"), std::string::npos) << out;
  // The queries came from usnet's address, through the TAP: the kernel's own sockets in
  // this namespace would have come from its address, 198.18.3.1.
  const std::string log = slurp(dir_ + "/dnsmasq.log");
  EXPECT_NE(log.find("query[A] name.test from 198.18.3.2"), std::string::npos) << log;
  EXPECT_NE(log.find("query[PTR] 77.3.18.198.in-addr.arpa from 198.18.3.2"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("from 198.18.3.1"), std::string::npos) << log;
}

// Issue 11: with an IPv6 address of usnet's, lookups over usnet give AAAA answers even
// under AI_ADDRCONFIG (which asks for the families usnet has), curl -6 fetches by name
// over usnet's IPv6, and an IPv6 name server is asked over usnet's IPv6; with IPv4 only,
// AI_ADDRCONFIG leaves the AAAA answers out.
TEST_F(Programs, NameLookupsGiveIpv6AnswersWhenUsnetHasIpv6) {
  ASSERT_EQ(in_ns({"ip", "tuntap", "add", "mode", "tap", "name", kTap}), 0);
  ASSERT_EQ(in_ns({"ip", "addr", "add", std::string(kKernel) + "/24", "dev", kTap}), 0);
  ASSERT_EQ(in_ns({"ip", "-6", "addr", "add", std::string(kKernel6) + "/64", "dev", kTap, "nodad"}),
            0);
  ASSERT_EQ(in_ns({"ip", "link", "set", kTap, "up"}), 0);
  const pid_t dns = spawn_in(
      ns_,
      {"dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--log-queries",
       "--log-facility=" + dir_ + "/dnsmasq.log", "--address=/six.test/" + std::string(kKernel6),
       "--address=/six.test/" + std::string(kKernel), "--port", "53",
       "--listen-address=" + std::string(kKernel), "--listen-address=" + std::string(kKernel6),
       "--bind-interfaces", "--pid-file="},
      dir_ + "/dnsmasq.out");
  ASSERT_TRUE(wait_kernel_listening(53, dns));
  std::ofstream(dir_ + "/resolv.conf") << "nameserver " << kKernel << "\noptions timeout:2\n";
  std::ofstream(dir_ + "/hosts") << "127.0.0.1 localhost\n";
  const std::vector<std::string> env = {"USNET_RESOLV_CONF=" + dir_ + "/resolv.conf",
                                        "USNET_HOSTS=" + dir_ + "/hosts"};
  const std::string script =
      "import socket\n"
      "r = socket.getaddrinfo('six.test', 80, 0, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG)\n"
      "print('FAM', sorted({a[0].name for a in r}))\n"
      "print('V6', sorted({a[4][0] for a in r if a[0] == socket.AF_INET6}))\n";
  std::string out;
  ipv6_ = true;
  ASSERT_EQ(run_usnet({"python3", "-c", script}, &out, 30, env), 0) << out;
  EXPECT_NE(out.find("FAM ['AF_INET', 'AF_INET6']"), std::string::npos) << out;
  EXPECT_NE(out.find("V6 ['" + std::string(kKernel6) + "']"), std::string::npos) << out;
  const std::string file = make_file("page6", 300000);
  const pid_t server =
      spawn_in_ns({"python3", "-m", "http.server", "--bind", "::", "--directory", dir_, "8003"});
  ASSERT_TRUE(wait_kernel_listening(8003, server));
  ASSERT_EQ(run_usnet({"curl", "-6", "-sS", "--fail", "--max-time", "30", "--retry", "5",
                       "--retry-delay", "1", "--retry-all-errors", "--connect-timeout", "3", "-o",
                       dir_ + "/got", "http://six.test:8003/page6"},
                      &out, 60, env),
            0)
      << out;
  EXPECT_TRUE(slurp(dir_ + "/got") == slurp(file)) << "the body differs from the file";
  // An IPv6 name server in usnet's prefix is asked over usnet's IPv6.
  std::ofstream(dir_ + "/resolv6.conf") << "nameserver " << kKernel6 << "\noptions timeout:2\n";
  ASSERT_EQ(
      run_usnet({"python3", "-c", script}, &out, 30,
                {"USNET_RESOLV_CONF=" + dir_ + "/resolv6.conf", "USNET_HOSTS=" + dir_ + "/hosts"}),
      0)
      << out;
  EXPECT_NE(out.find("FAM ['AF_INET', 'AF_INET6']"), std::string::npos) << out;
  ipv6_ = false;
  ASSERT_EQ(run_usnet({"python3", "-c", script}, &out, 30, env), 0) << out;
  EXPECT_NE(out.find("FAM ['AF_INET']"), std::string::npos) << out;
  const std::string log = slurp(dir_ + "/dnsmasq.log");
  EXPECT_NE(log.find("query[AAAA] six.test from " + std::string(kUsnet)), std::string::npos) << log;
  EXPECT_NE(log.find("query[AAAA] six.test from " + std::string(kUsnet6)), std::string::npos)
      << log;
  // Every query came through usnet: none from the kernel's own addresses.
  EXPECT_EQ(log.find("from " + std::string(kKernel)), std::string::npos) << log;
}

TEST_F(Programs, UsnetRunPassesTheExitStatusAndRemovesItsTap) {
  std::string out;
  EXPECT_EQ(run_usnet({"sh", "-c", "ip -br link show pr0; exit 7"}, &out), 7) << out;
  EXPECT_NE(out.find("pr0"), std::string::npos) << "the TAP was not there: " << out;
  EXPECT_NE(in_ns({"ip", "link", "show", kTap}), 0) << "the TAP outlived `usnet run`";
  // Killed by a signal: 128 + its number, as a shell reports it.
  EXPECT_EQ(run_usnet({"sh", "-c", "kill -TERM $$"}, &out), 128 + SIGTERM) << out;
  EXPECT_EQ(run_usnet({"no-such-program-anywhere"}, &out), 127) << out;
}

// `usnet run --sysctl` reaches the program's own stack (through USNET_SYSCTL): its UDP
// datagrams leave with the TTL asked for, which the kernel's receiver reads (IP_RECVTTL).
// A name or value sysctl(8) would refuse stops the run before the program starts.
TEST_F(Programs, UsnetRunSysctlReachesTheProgramsStack) {
  const std::string ttl_file = dir_ + "/ttl";
  const pid_t rx = spawn_in_ns(
      {"python3", "-c",
       "import socket, sys\n"
       "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
       // IP_RECVTTL is 12 in <linux/in.h> (Python's socket module does not name it).
       "s.setsockopt(socket.IPPROTO_IP, 12, 1)\n"
       "s.bind(('0.0.0.0', 7010)); s.settimeout(20)\n"
       "d, anc, _, _ = s.recvmsg(64, 64)\n"
       "ttl = [int.from_bytes(c[2][:4], sys.byteorder) for c in anc if c[1] == socket.IP_TTL]\n"
       "open(sys.argv[1], 'w').write('%s %d' % (d.decode(), ttl[0]))\n",
       ttl_file});
  ASSERT_GT(rx, 0);
  const std::string send =
      "import socket, time\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "for _ in range(40):\n"
      "    s.sendto(b'ttl', ('" +
      std::string(kKernel) + "', 7010)); time.sleep(0.05)\n";
  auto with_sysctl = [&](const std::string& assignment) {
    std::vector<std::string> cmd = on_usnet({"python3", "-c", send});
    const auto run = std::find(cmd.begin(), cmd.end(), "run");
    cmd.insert(run + 1, {"--sysctl", assignment});
    std::vector<std::string> v = {"sh", "-c", "exec \"$@\" 2>&1", "sh"};
    v.insert(v.end(), cmd.begin(), cmd.end());
    return v;
  };
  std::string out;
  ASSERT_EQ(interop::run(with_sysctl("net.ipv4.ip_default_ttl=77"), &out, 30), 0) << out;
  int status = 0;
  EXPECT_EQ(::waitpid(rx, &status, 0), rx);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(slurp(ttl_file), "ttl 77");

  EXPECT_EQ(interop::run(with_sysctl("net.ipv4.no_such_setting=1"), &out, 30), 2) << out;
  EXPECT_NE(out.find("cannot stat /proc/sys/net/ipv4/no_such_setting"), std::string::npos) << out;
  EXPECT_EQ(interop::run(with_sysctl("net.ipv4.ip_default_ttl=0"), &out, 30), 2) << out;
  EXPECT_NE(out.find("Invalid argument"), std::string::npos) << out;
}

TEST_F(Programs, UsnetRunCountersShowTheProgramsTraffic) {
  kernel_http_server();
  make_file("small", 100000);
  std::string out;
  // --counters is an option of the tool, before `--`.
  std::vector<std::string> argv = {"sh",
                                   "-c",
                                   "exec \"$@\" 2>&1",
                                   "sh",
                                   USNET_TOOL_PATH,
                                   "run",
                                   "--netns",
                                   ns_,
                                   "--tap",
                                   kTap,
                                   "--addr",
                                   std::string(kUsnet) + "/24",
                                   "--peer-addr",
                                   std::string(kKernel) + "/24",
                                   "--counters",
                                   "--",
                                   "curl",
                                   "-sS",
                                   "--fail",
                                   "-o",
                                   "/dev/null",
                                   url(kKernel, 8000, "small")};
  ASSERT_EQ(interop::run(argv, &out, 30), 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("TcpActiveOpens +([0-9]+)"))) << out;
  EXPECT_EQ(m[1], "1") << out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("TcpInSegs +([0-9]+)"))) << out;
  EXPECT_GT(std::stol(m[1]), 60) << out;  // 100,000 bytes in segments of at most 1460
}

TEST_F(Programs, UsnetRunRefusesProgramsLdPreloadCannotReach) {
  // Debian's ldconfig is statically linked (static-pie).
  std::string out;
  ASSERT_EQ(run_usnet({"/sbin/ldconfig", "--version"}, &out), 126) << out;
  EXPECT_NE(out.find("statically linked"), std::string::npos) << out;
  // A set-user-ID copy of a dynamic program, owned by another user than the one running it
  // (nobody, 65534): exec would change credentials, and the loader ignore LD_PRELOAD.
  const std::string copy = dir_ + "/suid-true";
  std::filesystem::copy_file("/bin/true", copy);
  ASSERT_EQ(::chown(copy.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(copy.c_str(), 04755), 0);
  ASSERT_EQ(run_usnet({copy}, &out), 126) << out;
  EXPECT_NE(out.find("secure-execution"), std::string::npos) << out;
  // Neither got as far as making the TAP.
  EXPECT_NE(in_ns({"ip", "link", "show", kTap}), 0);
}

}  // namespace
}  // namespace usnet::apps
