// `usnet sysctl`: reads and writes a usnet stack's settings under Linux's names, printing
// and refusing as sysctl(8) (procps) does. On its own it acts on a fresh stack of this
// process, after the --sysctl and --sysctl-file options every command takes.
#include <cerrno>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "stack/sysctl.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct SysctlOptions {
  NetOptions net;
  bool all = false;
  bool values_only = false;  // -n
  bool write = false;        // -w: every argument must be NAME=VALUE
  bool quiet = false;        // -q: no echo of what was set
  std::vector<std::string> files;
  std::vector<std::string> args;
};

void print_setting(const SysctlOptions& o, const std::string& name, const std::string& value) {
  if (o.values_only) {
    std::cout << value << "\n";
  } else {
    std::cout << name << " = " << value << "\n";
  }
}

bool show(const SysctlOptions& o, usnet_stack* stack, const std::string& name) {
  std::string buf(4096, '\0');
  if (usnet_sysctl_get(stack, name.c_str(), buf.data(), buf.size()) < 0) {
    print_sysctl_error(name, errno);
    return false;
  }
  buf.resize(buf.find('\0'));
  print_setting(o, sysctl_normalize(name), buf);
  return true;
}

int run_sysctl(const SysctlOptions& o) {
  Host host;
  if (!setup_host(o.net, host)) return 1;
  bool ok = true;
  if (o.all) {
    for (const std::string& name : sysctl_names())
      ok = show(o, host.stack, name) && ok;
  }
  for (const std::string& f : o.files) {
    ok = load_sysctl_file(host.stack, f,
                          [&](const std::string& name, const std::string& value) {
                            if (!o.quiet) print_setting(o, name, value);
                          }) &&
         ok;
  }
  for (const std::string& a : o.args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) {
      if (o.write) {
        std::cerr << "usnet sysctl: \"" << a << "\" must be of the form name=value\n";
        ok = false;
        continue;
      }
      ok = show(o, host.stack, a) && ok;
      continue;
    }
    if (!set_sysctl(host.stack, a)) {
      ok = false;
      continue;
    }
    // sysctl(8) echoes the value as it was given.
    if (!o.quiet) print_setting(o, sysctl_normalize(a.substr(0, eq)), a.substr(eq + 1));
  }
  return ok ? 0 : 1;
}

}  // namespace

void register_sysctl(CLI::App& app) {
  auto opts = std::make_shared<SysctlOptions>();
  auto* cmd = app.add_subcommand(
      "sysctl",
      "Read or set a stack's settings under Linux's sysctl names (net.ipv4.tcp_rmem, "
      "net.core.somaxconn, ...), as sysctl(8)");
  add_net_options(*cmd, opts->net);
  cmd->add_flag("-a,--all", opts->all, "Print every setting, sorted");
  cmd->add_flag("-n,--values", opts->values_only, "Print values only");
  cmd->add_flag("-w,--write", opts->write, "Every argument is NAME=VALUE");
  cmd->add_flag("-q,--quiet", opts->quiet, "Do not echo the values set");
  cmd->add_option("-p,--load", opts->files, "Apply a file in sysctl.conf syntax");
  cmd->add_option("names", opts->args, "NAME to print, or NAME=VALUE to set");
  cmd->callback([opts] {
    if (!opts->all && opts->files.empty() && opts->args.empty()) {
      std::cerr << "usnet sysctl: no variables specified (try -a)\n";
      throw CLI::RuntimeError(1);
    }
    throw CLI::RuntimeError(run_sysctl(*opts));
  });
}

}  // namespace usnet::tool
