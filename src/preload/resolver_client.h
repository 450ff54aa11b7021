// The preload resolver's DNS client (RFC 1035 4.2): one question to the name servers of a
// resolv.conf, each over UDP, through usnet when usnet carries traffic to that server and
// through the kernel otherwise, with the timeout and attempts resolv.conf gives, and over
// TCP when the UDP answer was truncated (RFC 7766 5). Answers that are not for the
// question asked (ID, question, source) are ignored and the wait goes on (RFC 5452 9.1).
#pragma once

#include <cstdint>
#include <string>

#include "preload/dns_message.h"
#include "preload/resolver_files.h"

namespace usnet::dns {

enum class Lookup {
  kFound,   // records of the type asked
  kNoName,  // NXDOMAIN (HOST_NOT_FOUND)
  kNoData,  // the name exists, no record of that type (NO_DATA)
  kAgain,   // no server answered in time, or every answer was an error rcode (TRY_AGAIN)
  kFail,    // no server to ask (NO_RECOVERY)
};

// Asks for `name` (a full name: the search list is the caller's) of `qtype`. *out holds the
// answer when kFound (and its canonical name when kNoData).
Lookup query(const ResolvConf& conf, const std::string& name, std::uint16_t qtype, Answer* out);

// True if usnet carries the traffic to at least one of the servers (preload::served_by_usnet),
// so a lookup must not be left to libc, whose own sockets cannot reach it.
bool any_server_on_usnet(const ResolvConf& conf);

}  // namespace usnet::dns
