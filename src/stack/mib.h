// Per-stack counters, named exactly as Linux's `nstat` names them (the SNMP MIB of RFC 4293
// and RFC 4022 plus Linux's extensions), so a reader can compare a usnet run with the
// kernel's. Counters Linux does not have carry a `Usnet` prefix. Every place a packet is
// dropped increments one of these (DESIGN.md invariant 4).
#pragma once

#include <cstdint>
#include <string_view>

namespace usnet {

// One counter per line (clang-format would pack them into rows).
// clang-format off
#define USNET_MIB_COUNTERS(X)                                         \
  /* IPv4 (RFC 4293 ipSystemStats) */                                 \
  X(IpInReceives)                                                     \
  X(IpInHdrErrors)                                                    \
  X(IpInAddrErrors)                                                   \
  X(IpInUnknownProtos)                                                \
  X(IpInDiscards)                                                     \
  X(IpInDelivers)                                                     \
  X(IpOutRequests)                                                    \
  X(IpOutDiscards)                                                    \
  X(IpOutNoRoutes)                                                    \
  X(IpReasmTimeout)                                                   \
  X(IpReasmReqds)                                                     \
  X(IpReasmOKs)                                                       \
  X(IpReasmFails)                                                     \
  X(IpFragOKs)                                                        \
  X(IpFragFails)                                                      \
  X(IpFragCreates)                                                    \
  X(IpExtInTruncatedPkts)                                             \
  X(IpExtInCsumErrors)                                                \
  X(IpExtInBcastPkts)                                                 \
  X(IpExtOutBcastPkts)                                                \
  X(IpExtInOctets)                                                    \
  X(IpExtOutOctets)                                                   \
  X(UsnetIpReasmOverlaps)                                             \
  X(UsnetIpReasmMemoryDrops)                                          \
  /* martian sources, in IpInAddrErrors too (Linux: rt_cache) */      \
  X(UsnetIpInMartianSrc)                                              \
  /* source-routed datagrams refused (accept_source_route 0) */       \
  X(UsnetIpInSourceRoutes)                                            \
  /* ICMPv4 */                                                        \
  X(IcmpInMsgs)                                                       \
  X(IcmpInErrors)                                                     \
  X(IcmpInCsumErrors)                                                 \
  X(IcmpInDestUnreachs)                                               \
  X(IcmpInTimeExcds)                                                  \
  X(IcmpInParmProbs)                                                  \
  X(IcmpInEchos)                                                      \
  X(IcmpInEchoReps)                                                   \
  X(IcmpOutMsgs)                                                      \
  X(IcmpOutErrors)                                                    \
  X(IcmpOutRateLimitGlobal)                                           \
  X(IcmpOutRateLimitHost)                                             \
  X(IcmpOutDestUnreachs)                                              \
  X(IcmpOutTimeExcds)                                                 \
  X(IcmpOutParmProbs)                                                 \
  X(IcmpOutEchos)                                                     \
  X(IcmpOutEchoReps)                                                  \
  /* IPv6 (RFC 4293; Linux /proc/net/snmp6 names, as nstat prints them) */\
  X(Ip6InReceives)                                                   \
  X(Ip6InHdrErrors)                                                  \
  X(Ip6InTooBigErrors)                                               \
  X(Ip6InNoRoutes)                                                   \
  X(Ip6InAddrErrors)                                                 \
  X(Ip6InUnknownProtos)                                              \
  X(Ip6InTruncatedPkts)                                              \
  X(Ip6InDiscards)                                                   \
  X(Ip6InDelivers)                                                   \
  X(Ip6OutRequests)                                                  \
  X(Ip6OutDiscards)                                                  \
  X(Ip6OutNoRoutes)                                                  \
  X(Ip6ReasmTimeout)                                                 \
  X(Ip6ReasmReqds)                                                   \
  X(Ip6ReasmOKs)                                                     \
  X(Ip6ReasmFails)                                                   \
  X(Ip6FragOKs)                                                      \
  X(Ip6FragFails)                                                    \
  X(Ip6FragCreates)                                                  \
  X(Ip6InMcastPkts)                                                  \
  X(Ip6OutMcastPkts)                                                 \
  X(Ip6InOctets)                                                     \
  X(Ip6OutOctets)                                                    \
  /* ICMPv6 (RFC 4443, RFC 4861 messages counted by type) */         \
  X(Icmp6InMsgs)                                                     \
  X(Icmp6InErrors)                                                   \
  X(Icmp6OutMsgs)                                                    \
  X(Icmp6OutErrors)                                                  \
  X(Icmp6InCsumErrors)                                               \
  X(Icmp6OutRateLimitHost)                                           \
  X(Icmp6InDestUnreachs)                                             \
  X(Icmp6InPktTooBigs)                                               \
  X(Icmp6InTimeExcds)                                                \
  X(Icmp6InParmProblems)                                             \
  X(Icmp6InEchos)                                                    \
  X(Icmp6InEchoReplies)                                              \
  X(Icmp6InRouterSolicits)                                           \
  X(Icmp6InRouterAdvertisements)                                     \
  X(Icmp6InNeighborSolicits)                                         \
  X(Icmp6InNeighborAdvertisements)                                   \
  X(Icmp6InRedirects)                                                \
  X(Icmp6InMLDv2Reports)                                             \
  X(Icmp6OutDestUnreachs)                                            \
  X(Icmp6OutPktTooBigs)                                              \
  X(Icmp6OutTimeExcds)                                               \
  X(Icmp6OutParmProblems)                                            \
  X(Icmp6OutEchos)                                                   \
  X(Icmp6OutEchoReplies)                                             \
  X(Icmp6OutRouterSolicits)                                          \
  X(Icmp6OutRouterAdvertisements)                                    \
  X(Icmp6OutNeighborSolicits)                                        \
  X(Icmp6OutNeighborAdvertisements)                                  \
  X(Icmp6OutRedirects)                                               \
  X(Icmp6OutMLDv2Reports)                                            \
  /* UDP over IPv6 */                                                \
  X(Udp6InDatagrams)                                                 \
  X(Udp6NoPorts)                                                     \
  X(Udp6InErrors)                                                    \
  X(Udp6OutDatagrams)                                                \
  X(Udp6RcvbufErrors)                                                \
  X(Udp6SndbufErrors)                                                \
  X(Udp6InCsumErrors)                                                \
  X(Udp6IgnoredMulti)                                                \
  /* UDP (RFC 4113) */                                                \
  X(UdpInDatagrams)                                                   \
  X(UdpNoPorts)                                                       \
  X(UdpInErrors)                                                      \
  X(UdpOutDatagrams)                                                  \
  X(UdpRcvbufErrors)                                                  \
  X(UdpSndbufErrors)                                                  \
  X(UdpInCsumErrors)                                                  \
  X(UdpIgnoredMulti)                                                  \
  /* TCP (RFC 4022) and Linux's TcpExt */                             \
  X(TcpActiveOpens)                                                   \
  X(TcpPassiveOpens)                                                  \
  X(TcpAttemptFails)                                                  \
  X(TcpEstabResets)                                                   \
  X(TcpCurrEstab)                                                     \
  X(TcpInSegs)                                                        \
  X(TcpOutSegs)                                                       \
  X(TcpRetransSegs)                                                   \
  X(TcpInErrs)                                                        \
  X(TcpOutRsts)                                                       \
  X(TcpInCsumErrors)                                                  \
  X(TcpExtSyncookiesSent)                                             \
  X(TcpExtSyncookiesRecv)                                             \
  X(TcpExtSyncookiesFailed)                                           \
  X(TcpExtListenOverflows)                                            \
  X(TcpExtListenDrops)                                                \
  X(TcpExtTCPChallengeACK)                                            \
  X(TcpExtTCPACKSkippedSynRecv)                                       \
  X(TcpExtTCPACKSkippedPAWS)                                          \
  X(TcpExtTCPACKSkippedSeq)                                           \
  X(TcpExtTCPACKSkippedChallenge)                                     \
  X(TcpExtTCPSYNChallenge)                                            \
  X(TcpExtPAWSEstab)                                                  \
  X(TcpExtTCPTimeouts)                                                \
  X(TcpExtTCPFastRetrans)                                             \
  X(TcpExtTCPSackRecovery)                                            \
  X(TcpExtTCPRenoRecovery)                                            \
  X(TcpExtTCPLossProbes)                                              \
  X(TcpExtTCPLossProbeRecovery)                                       \
  X(TcpExtTCPLostRetransmit)                                          \
  X(TcpExtTCPSACKReorder)                                             \
  X(TcpExtTCPTSReorder)                                               \
  X(TcpExtTCPPartialUndo)                                             \
  X(TcpExtTCPSACKReneging)                                            \
  X(TcpExtTCPDSACKOldSent)                                            \
  X(TcpExtTCPDSACKOfoSent)                                            \
  X(TcpExtTCPDSACKRecv)                                               \
  X(TcpExtTCPDSACKOfoRecv)                                            \
  X(TcpExtTCPDSACKUndo)                                               \
  X(TcpExtTCPFullUndo)                                                \
  X(TcpExtTCPLossUndo)                                                \
  X(TcpExtDelayedACKLost)                                             \
  X(TcpExtTCPAbortOnData)                                             \
  X(TcpExtTCPAbortOnClose)                                            \
  X(TcpExtTCPAbortOnTimeout)                                          \
  X(TcpExtTCPAbortOnLinger)                                           \
  X(TcpExtTW)                                                         \
  X(TcpExtTWRecycled)                                                 \
  X(TcpExtTCPOFOQueue)                                                \
  X(TcpExtTCPOFODrop)                                                 \
  X(TcpExtTCPOFOMerge)                                                \
  X(TcpExtTCPRcvCoalesce)                                             \
  X(TcpExtPruneCalled)                                                \
  X(TcpExtOfoPruned)                                                  \
  X(TcpExtDelayedACKs)                                                \
  X(TcpExtOutOfWindowIcmps)                                           \
  X(UsnetTcpOutOfWindow)                                              \
  X(UsnetTcpBeyondWindow)                                             \
  X(UsnetTcpKeepaliveProbes)                                          \
  X(TcpExtTCPTimeWaitOverflow)                                        \
  X(TcpExtTCPAbortOnMemory)                                           \
  /* TCP Fast Open (RFC 7413; Linux tcp_fastopen.c) */                \
  X(TcpExtTCPFastOpenActive)                                          \
  X(TcpExtTCPFastOpenActiveFail)                                      \
  X(TcpExtTCPFastOpenPassive)                                         \
  X(TcpExtTCPFastOpenPassiveFail)                                     \
  X(TcpExtTCPFastOpenListenOverflow)                                  \
  X(TcpExtTCPFastOpenCookieReqd)                                      \
  X(TcpExtTCPFastOpenBlackhole)                                       \
  X(TcpExtTCPFastOpenPassiveAltKey)                                   \
  X(TcpExtTCPDeferAcceptDrop)                                         \
  /* ECN (RFC 3168): the IP ECN field of arriving datagrams; reductions */ \
  X(IpExtInNoECTPkts)                                                 \
  X(IpExtInECT1Pkts)                                                  \
  X(IpExtInECT0Pkts)                                                  \
  X(IpExtInCEPkts)                                                    \
  X(UsnetTcpEcnReductions)                                            \
  /* ARP and Ethernet (Linux keeps these per device or not at all) */ \
  X(UsnetEthInFrames)                                                 \
  X(UsnetEthInErrors)                                                 \
  X(UsnetEthInOtherHost)                                              \
  X(UsnetEthInUnknownType)                                            \
  X(UsnetEthOutFrames)                                                \
  X(UsnetArpInRequests)                                               \
  X(UsnetArpInReplies)                                                \
  X(UsnetArpInErrors)                                                 \
  X(UsnetArpOutRequests)                                              \
  X(UsnetArpOutReplies)                                               \
  X(UsnetArpResolveFails)                                             \
  X(UsnetArpQueueDrops)                                               \
  X(UsnetNdpResolveFails)                                             \
  X(UsnetNdpQueueDrops)
// clang-format on

struct MibCounters {
#define USNET_MIB_FIELD(name) std::uint64_t name = 0;
  USNET_MIB_COUNTERS(USNET_MIB_FIELD)
#undef USNET_MIB_FIELD

  // Calls fn(name, value) for every counter, in declaration order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
#define USNET_MIB_VISIT(name) fn(std::string_view{#name}, name);
    USNET_MIB_COUNTERS(USNET_MIB_VISIT)
#undef USNET_MIB_VISIT
  }
};

}  // namespace usnet
