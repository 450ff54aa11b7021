// Moves the calling thread (and the threads it starts later) into a network namespace of
// its own with only `lo`, up: where side-by-side tests run the kernel's sockets, so they see
// what usnet's default stack has (a loopback interface) and nothing of the machine's.
#pragma once

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace usnet::test {

// True if the namespace was made and its lo brought up; false (errno set) otherwise, and the
// caller says loudly that the kernel side uses the machine's loopback.
inline bool enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0) return false;
  const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return false;
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  bool up = false;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    up = ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  ::close(s);
  return up;
}

}  // namespace usnet::test
