#!/usr/bin/env bash
#
# tests/net/bench.sh: what net_bridge_attach + net_bridge_detach cost, as
# `make net-bench` runs it (root).
#
#   tests/net/bench.sh DRIVER [RUNS]        (RUNS defaults to 200)
#
# Everything happens in a network namespace made here (and one more, see
# "hooked" below), never in this machine's own; the trap ends what it
# started, by pid, and deletes them.  Four measurements, each the driver's
# median, p10 and p90 of RUNS attach+detach pairs:
#
#   bare        the first container every time (bridge kept, the nft table
#               made and removed each time), no published port
#   publish     the same with one published port
#   hooked      the same as bare while another namespace holds nat hooks:
#               a host with any nftables or iptables rules.  Registering
#               the first netfilter hook of a kind anywhere on the machine
#               patches kernel code (a static key), and unregistering the
#               last patches it back; each costs ~1 ms here.  A host with a
#               firewall never pays it.
#   N running   the same as bare with N bridged containers running
#               (NET_BENCH_RUNNING, 100): a start must not get dearer
#               with their number
#
# The veth pairs are destroyed by the kernel after each detach, in the
# background, as they would be after a container: that load is part of it.

set -euo pipefail

prog=tests/net/bench.sh
driver=${1:?usage: $prog DRIVER [RUNS]}
runs=${2:-200}
running=${NET_BENCH_RUNNING:-100}
[[ $driver == /* ]] || driver=$PWD/$driver
[[ -x $driver ]] || { echo "$prog: $driver: not built (make build/net/driver)" >&2; exit 2; }
((EUID == 0)) || { echo "$prog: must be run as root" >&2; exit 2; }

h=sdb-host-$$
k=sdb-hooks-$$
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    ip netns exec "$h" "$driver" sweep --thorough >/dev/null 2>&1 || true
    ip netns del "$h" 2>/dev/null || true
    ip netns del "$k" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$h"
ip -n "$h" link set lo up

bench() {
    echo "== $1"
    shift
    ip netns exec "$h" "$driver" bench "$runs" "$@" | sed 's/^/   /'
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; kernel $(uname -r)"
bench bare
bench "publish (1 port)" --publish 8080:80

# Nat hooks held elsewhere, as on a host with a firewall: a nat chain in a
# namespace of our own, made with the driver itself (a container there).
ip netns add "$k"
ip netns exec "$k" "$driver" run -- sleep 3600 >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
bench "hooked (another namespace holds nat hooks)"
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
ip netns exec "$k" "$driver" sweep --thorough >/dev/null 2>&1 || true

echo "== starting $running bridged containers"
for ((i = 0; i < running; i++)); do
    ip netns exec "$h" "$driver" run -- sleep 3600 >/dev/null 2>&1 &
    pids+=($!)
done
deadline=$((SECONDS + 120))
until (($(ip netns exec "$h" "$driver" show | sed -n 's/^files: //p') >= running * 4)); do
    ((SECONDS < deadline)) || { echo "$prog: the $running containers did not all start" >&2; exit 1; }
    sleep 0.2
done
bench "$running running (table kept by them)"
bench "$running running, publish (1 port)" --publish 8080:80
