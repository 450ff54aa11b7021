// Each subcommand registers itself on the app; its callback throws CLI::RuntimeError with
// the exit code, which main() returns.
#pragma once

#include <CLI/CLI.hpp>

namespace usnet::tool {

void register_demo(CLI::App& app);
void register_ping(CLI::App& app);
void register_udp_echo(CLI::App& app);
void register_tcp_echo(CLI::App& app);
void register_httpd(CLI::App& app);
void register_get(CLI::App& app);
void register_tcp_send(CLI::App& app);
void register_sysctl(CLI::App& app);
void register_run(CLI::App& app);

}  // namespace usnet::tool
