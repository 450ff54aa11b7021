// Segments larger than the MTU from a device that coalesces them (issue 10 item 5; the TAP's
// USNET_TAP_GRO): TCP takes one whole, acknowledges it at once as the run of full-sized
// segments it stands for (as Linux acknowledges a GRO segment of more than one MSS), and
// the MSS it announces still comes from the MTU.
#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpPsh;

class Gro : public TcpScript {
 protected:
  Gro() : TcpScript(ScriptConfig{.max_receive_frame = 65535 + 14}) {}
};

TEST_F(Gro, ACoalescedSegmentIsTakenWholeAndAcknowledgedAtOnce) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  // The MSS of the SYN,ACK followed the MTU, not the frames the device may hand up.
  EXPECT_EQ(tsk(p.sock).advmss, 1460);
  // The first data starts quick-ACK mode (Linux tcp_event_data_recv); leave it each time,
  // so that only a segment's size can make an ACK immediate.
  const std::string first(1460, 'a');
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .data = bytes(first)});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1 + 1460);
  tsk(p.sock).quickacks = 0;
  // Control: one full-sized segment waits for the delayed-ACK timer.
  const std::string one(1460, 'b');
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1 + 1460, .ack = p.iss + 1, .data = bytes(one)});
  expect_nothing();
  advance(std::chrono::milliseconds(250));
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1 + 2920);
  tsk(p.sock).quickacks = 0;
  // 20,000 bytes in one frame, as a coalescing device hands them: acknowledged at once.
  std::string big(20000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('A' + i % 26);
  inject({.flags = kTcpAck | kTcpPsh,
          .seq = kPeerIsn + 1 + 2920,
          .ack = p.iss + 1,
          .data = bytes(big)});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1 + 2920 + 20000);
  EXPECT_EQ(recv(p.sock, MSG_DONTWAIT, 65536), first + one + big);
}

}  // namespace
}  // namespace usnet::script
