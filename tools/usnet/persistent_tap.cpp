#include "persistent_tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace usnet::tool {
namespace {

// Opens /dev/net/tun attached to the TAP `name` (created if missing); -1 with errno.
int attach(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    errno = EINVAL;
    return -1;
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  // The flags the preloaded stack opens it with (src/dev/tap.cpp): a persistent device
  // keeps its flags, and TUNSETIFF refuses a later open with different ones.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

bool set_persist(const std::string& name, bool on, std::string* error) {
  const int fd = attach(name);
  if (fd < 0) {
    *error = std::string("cannot open TAP ") + name + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = ::ioctl(fd, TUNSETPERSIST, on ? 1 : 0) == 0;
  if (!ok) *error = std::string("TUNSETPERSIST on ") + name + ": " + std::strerror(errno);
  ::close(fd);
  return ok;
}

}  // namespace

bool tap_create_persistent(const std::string& name, bool* created, std::string* error) {
  *created = ::if_nametoindex(name.c_str()) == 0;
  if (!set_persist(name, true, error)) return false;
  return true;
}

bool tap_remove_persistent(const std::string& name, std::string* error) {
  if (::if_nametoindex(name.c_str()) == 0) return true;  // already gone
  if (set_persist(name, false, error)) return true;
  if (errno != EBUSY) return false;
  // Still attached (TUNSETIFF: EBUSY): a process the program left running holds it.
  // `ip link del` removes it under that process, which then reads EBADFD.
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
    ::execlp("ip", "ip", "link", "del", name.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  *error = "cannot delete TAP " + name + ": still in use, and `ip link del` failed";
  return false;
}

}  // namespace usnet::tool
