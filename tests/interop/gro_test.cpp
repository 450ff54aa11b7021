// Issue 10 item 5: frames larger than the MTU on receive where the device may coalesce.
// With --tap-gro the TAP offers the kernel TSO and partial checksums (IFF_VNET_HDR), so the
// kernel's TCP hands usnet a connection's data in frames of up to 64 KiB, as GRO hands them
// to Linux's own TCP. usnet must take them whole, verify the checksums the device
// completed, acknowledge them, and still announce the MSS its MTU gives.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../unit/support/pcap_reader.h"
#include "support/body.h"
#include "support/interop.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::interop {
namespace {

constexpr std::size_t kBody = 20'000'000;

// What a capture of usnet's TAP shows: the largest frame the kernel sent, how many passed
// the MTU, and the MSS usnet's SYN announced.
struct CaptureFacts {
  std::size_t largest_in = 0;
  std::size_t over_mtu = 0;
  int syn_mss = -1;
};

CaptureFacts read_capture(const std::string& pcap, Ipv4Address usnet) {
  CaptureFacts f;
  for (const auto& frame : test::read_pcap(pcap)) {
    const ByteSpan bytes(frame);
    auto eth = wire::EthernetHeader::parse(bytes);
    if (!eth || eth->ethertype != 0x0800) continue;
    const ByteSpan ip_bytes = bytes.subspan(wire::EthernetHeader::kSize);
    auto ip = wire::Ipv4Header::parse(ip_bytes);
    if (!ip || ip->protocol != static_cast<std::uint8_t>(wire::IpProtocol::kTcp)) continue;
    if (ip->dst == usnet) {
      f.largest_in = std::max(f.largest_in, frame.size());
      if (frame.size() > 1514) ++f.over_mtu;
      continue;
    }
    auto tcp = wire::TcpHeader::parse(
        ip_bytes.subspan(ip->header_length, ip->total_length - ip->header_length), ip->src,
        ip->dst);
    if (tcp && (tcp->flags & wire::kTcpSyn) != 0 && tcp->options.mss) {
      f.syn_mss = *tcp->options.mss;
    }
  }
  return f;
}

class Gro : public NetnsFixture {
 protected:
  std::string tmp(const std::string& name) const {
    return ::testing::TempDir() + "usnet-" + ns_ + "-" + name;
  }

  // `usnet get` of a 20 MB file from the kernel's python http.server; the capture's facts
  // and the seconds the download took.
  CaptureFacts download(bool gro, double* secs) {
    const std::string dir = tmp(gro ? "www-gro" : "www");
    EXPECT_EQ(run({"mkdir", "-p", dir}), 0);
    EXPECT_EQ(
        run({"sh", "-c", "head -c " + std::to_string(kBody) + " /dev/urandom > " + dir + "/f.bin"}),
        0);
    const pid_t server = spawn_in_ns(
        {"python3", "-m", "http.server", "8000", "--bind", "0.0.0.0", "--directory", dir});
    EXPECT_GT(server, 0);
    EXPECT_TRUE(wait_kernel_listening(8000, server));
    const std::string pcap = tmp(gro ? "gro.pcap" : "plain.pcap");
    const std::string saved = tmp(gro ? "saved-gro" : "saved");
    std::vector<std::string> args = {"get", "http://198.18.3.1:8000/f.bin", "-o", saved, "--pcap",
                                     pcap};
    if (gro) args.emplace_back("--tap-gro");
    std::string out;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(run_tool(args, &out), 0) << out;
    *secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(same_files(saved, dir + "/f.bin")) << "the body differs";
    ::kill(server, SIGTERM);
    wait_bg(server, 5);
    CaptureFacts f = read_capture(pcap, Ipv4Address::from_octets(198, 18, 3, 2));
    std::remove(saved.c_str());
    std::remove(pcap.c_str());
    run({"rm", "-rf", dir});
    return f;
  }
};

TEST_F(Gro, KernelHandsCoalescedSegmentsAndTheMssStaysTheMtus) {
  double plain_s = 0;
  double gro_s = 0;
  const CaptureFacts plain = download(false, &plain_s);
  // Without the offload every frame fits the MTU: the control that makes the next check
  // mean something.
  EXPECT_EQ(plain.over_mtu, 0U);
  EXPECT_LE(plain.largest_in, 1514U);
  const CaptureFacts gro = download(true, &gro_s);
  EXPECT_GT(gro.over_mtu, 0U) << "no frame larger than the MTU arrived with --tap-gro";
  EXPECT_GT(gro.largest_in, 3000U);
  EXPECT_LE(gro.largest_in, 65535U + 14U);
  // The MSS announced follows the MTU (1500 - 40), not the frames the device may take.
  EXPECT_EQ(plain.syn_mss, 1460);
  EXPECT_EQ(gro.syn_mss, 1460);
  std::printf(
      "kernel -> usnet get, 20 MB: plain %.2f s, --tap-gro %.2f s; %zu frames over the MTU, "
      "largest %zu bytes\n",
      plain_s, gro_s, gro.over_mtu, gro.largest_in);
}

}  // namespace
}  // namespace usnet::interop
