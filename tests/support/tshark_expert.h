// Reading tshark's expert summary (`tshark -q -z expert,warn`): which findings concern the
// layers usnet writes, and which only what tshark guessed about the payload.
#pragma once

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace usnet::interop {

struct ExpertFindings {
  std::vector<std::string> ours_bad;     // an error, malformed or bad checksum in our layers
  std::vector<std::string> payload_bad;  // the same, in a protocol dissected from payload
  bool readable = true;                  // a section was there but none of its rows parsed
};

// The table is a section title ("Errors (N)", "Warns (N)", ...), a rule, a header, then
// rows of frequency, group, protocol and summary. Our layers are Ethernet, ARP, IPv4,
// ICMP, UDP and TCP; their warnings (retransmissions, lost segments on a lossy link) are
// not failures, their errors and malformed frames are.
inline ExpertFindings read_expert_table(const std::string& expert) {
  static const std::set<std::string> kOurs = {"ETH", "ARP", "IPv4", "ICMP", "UDP", "TCP"};
  ExpertFindings f;
  std::istringstream in(expert);
  std::string line;
  std::string section;
  int sections = 0;
  int rows = 0;
  while (std::getline(in, line)) {
    for (const char* title : {"Errors (", "Warns (", "Notes (", "Chats ("}) {
      if (line.rfind(title, 0) == 0) {
        section = line.substr(0, line.find(' '));
        ++sections;
      }
    }
    std::istringstream row(line);
    unsigned long freq = 0;
    std::string group;
    std::string proto;
    if (section.empty() || !(row >> freq >> group >> proto)) continue;
    ++rows;
    const bool bad = section == "Errors" || group == "Malformed" ||
                     line.find("Bad checksum") != std::string::npos;
    if (!bad) continue;
    (kOurs.count(proto) != 0 ? f.ours_bad : f.payload_bad).push_back(line);
  }
  f.readable = sections == 0 || rows > 0;
  return f;
}

}  // namespace usnet::interop
