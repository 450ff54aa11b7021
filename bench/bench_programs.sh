#!/usr/bin/env bash
# Unmodified servers on the kernel and on usnet in one run, with the ratios: nginx under
# wrk, redis-server under redis-benchmark, iperf3 TCP both ways. The client is always the
# kernel's, in namespace C. The kernel's run: the server in namespace S, joined to C by a
# veth pair (MTU 1500). usnet's run: the same server under `usnet run` in C, on a TAP
# (MTU 1500) whose kernel side is C's. Every command is printed as it runs.
#
#   cmake --preset release && cmake --build --preset release --target usnet_tool usnet_preload
#   sudo bench/bench_programs.sh [BUILD_DIR (default build/release)] [SECONDS (default 5)]
#
# Needs root, /dev/net/tun, iproute2, nginx-light, wrk, redis-server, redis-tools, iperf3.
# Namespaces are usnet-bench-<pid>-{c,s}, addresses 198.18.10.0/24 (veth) and
# 198.18.11.0/24 (TAP); everything is removed on exit. The machine is shared and noisy:
# compare the ratios of one run, not absolute figures across runs.
set -euo pipefail

build=${1:-build/release}
secs=${2:-5}
tool=$(realpath "$build/tools/usnet/usnet")
export USNET_PRELOAD
USNET_PRELOAD=$(realpath "$build/src/preload/libusnet_preload.so")
for p in nginx wrk redis-server redis-benchmark iperf3 ip; do
  command -v "$p" >/dev/null || { echo "bench_programs: $p is not installed" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "bench_programs: needs root" >&2; exit 2; }

c=usnet-bench-$$-c
s=usnet-bench-$$-s
work=$(mktemp -d /tmp/usnet-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$c" 2>/dev/null || true
  ip netns del "$s" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$c"
ip netns add "$s"
ip -n "$c" link set lo up
ip -n "$s" link set lo up
ip -n "$c" link add vc type veth peer name vs netns "$s"
ip -n "$c" addr add 198.18.10.1/24 dev vc
ip -n "$s" addr add 198.18.10.2/24 dev vs
ip -n "$c" link set vc up
ip -n "$s" link set vs up
kernel_ip=198.18.10.2
usnet_ip=198.18.11.2

# The servers' files and configuration.
mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k"
cat >"$work/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; keepalive_requests 1000000;
  client_body_temp_path $work/t1; proxy_temp_path $work/t2; fastcgi_temp_path $work/t3;
  uwsgi_temp_path $work/t4; scgi_temp_path $work/t5;
  server { listen 8080; root $work/www; } }
CONF

say() { printf "+"; printf " %q" "$@"; printf "\n"; } >&2

# start_server kernel|usnet PORT COMMAND...: in S on the kernel, or under `usnet run` in C;
# returns once a kernel client in C can connect.
start_server() {
  local where=$1 port=$2 ip
  shift 2
  if [[ $where == kernel ]]; then
    say ip netns exec "$s" "$@"
    ip netns exec "$s" "$@" >"$work/server.log" 2>&1 &
    ip=$kernel_ip
  else
    say "$tool" run --netns "$c" --tap bt0 --addr $usnet_ip/24 --peer-addr 198.18.11.1/24 -- "$@"
    "$tool" run --netns "$c" --tap bt0 --addr $usnet_ip/24 --peer-addr 198.18.11.1/24 -- "$@" \
      >"$work/server.log" 2>&1 &
    ip=$usnet_ip
  fi
  server=$!
  pids+=("$server")
  for _ in $(seq 200); do
    if ip netns exec "$c" timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench_programs: the server on port $port did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
}
stop_server() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
client() {
  say ip netns exec "$c" "$@"
  ip netns exec "$c" "$@"
}

declare -A result
for where in kernel usnet; do
  ip=$kernel_ip
  [[ $where == usnet ]] && ip=$usnet_ip

  start_server $where 8080 nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf"
  out=$(client wrk -t1 -c50 -d"${secs}s" "http://$ip:8080/1k")
  result[$where.nginx]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  stop_server

  start_server $where 6379 redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
    --save "" --appendonly no --dir "$work"
  out=$(client redis-benchmark -h "$ip" -p 6379 -n 100000 -c 50 -t set,get -q)
  result[$where.set]=$(tr '\r' '\n' <<<"$out" | awk '/^SET:/ {print $2}' | tail -1)
  result[$where.get]=$(tr '\r' '\n' <<<"$out" | awk '/^GET:/ {print $2}' | tail -1)
  stop_server

  start_server $where 5201 iperf3 -s -4 -p 5201
  for dir in up down; do
    flag=()
    [[ $dir == down ]] && flag=(-R)
    out=$(client iperf3 -c "$ip" -p 5201 -4 -t "$secs" -J "${flag[@]}")
    result[$where.iperf_$dir]=$(python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$out")
  done
  stop_server
done

printf '\n%-36s %14s %14s %8s\n' "" kernel usnet ratio
row() {
  printf '%-36s %14s %14s %7.2fx RATIO\n' "$1" "${result[kernel.$2]}" "${result[usnet.$2]}" \
    "$(python3 -c "print(${result[usnet.$2]} / ${result[kernel.$2]})")"
}
row "nginx 1 KiB, wrk -c50 (requests/s)" nginx
row "redis SET -c50 (requests/s)" set
row "redis GET -c50 (requests/s)" get
row "iperf3 TCP to server (Mbit/s)" iperf_up
row "iperf3 TCP from server -R (Mbit/s)" iperf_down
