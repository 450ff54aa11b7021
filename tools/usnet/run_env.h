// The environment `usnet run` gives a program: libusnet_preload.so in LD_PRELOAD and the
// USNET_* variables of src/preload/README.md, so that the same program started by hand
// (`LD_PRELOAD=... USNET_TAP=... PROGRAM`) behaves the same.
#pragma once

#include <string>
#include <vector>

namespace usnet::tool {

struct RunEnv {
  std::string preload;      // absolute path of libusnet_preload.so
  std::string tap;          // USNET_TAP
  std::string addr;         // USNET_ADDR (CIDR)
  std::string gateway;      // USNET_GATEWAY, optional
  std::string mac;          // USNET_MAC, optional
  int mtu = 1500;           // USNET_MTU
  bool tap_gro = false;     // USNET_TAP_GRO
  std::string loopback;     // USNET_LOOPBACK: kernel | usnet
  bool trace = false;       // USNET_TRACE=1
  std::string pcap;         // USNET_PCAP, optional
  std::string counters;     // USNET_COUNTERS, optional
  std::string sysctl;       // USNET_SYSCTL: "name=value;name=value" (--sysctl, in order)
  std::string sysctl_file;  // USNET_SYSCTL_FILE (--sysctl-file), applied before the list
};

// `base` (NAME=VALUE strings, as environ) with the variables above set, replacing any of the
// same name, and the preload library put first in LD_PRELOAD (the first library preloaded
// wins the lookup, ld.so(8)); an LD_PRELOAD already there is kept after it, without a
// duplicate of ours. Variables the options leave empty are removed from the result, so an
// outer USNET_GATEWAY cannot leak into a run that did not ask for one.
std::vector<std::string> run_environment(const std::vector<std::string>& base, const RunEnv& e);

// libusnet_preload.so for a tool at `exe` (its /proc/self/exe): $USNET_PRELOAD if set
// (`override_path`), else the installed library beside the tool's prefix
// (`exe`/../`libdir_rel`), else the build tree's (`exe`/`build_rel`). Empty if none exists.
std::string find_preload_library(const std::string& override_path, const std::string& exe,
                                 const std::string& libdir_rel, const std::string& build_rel);

}  // namespace usnet::tool
