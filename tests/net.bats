#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr
#
# net.bats: the bridge network (net.c), through tests/net/driver.c, which
# calls net.c the way sdocker_run does, with a fake container: a child in a
# network namespace of its own that runs a command once it is wired.
#
# Never this machine's network: every test makes its own "host" network
# namespace (sdt-host-*), where the driver runs and sdocker0, the nft table
# and the veths are made, and a second one standing for the internet
# (sdt-inet-*), joined to the host by a veth pair: host 203.0.113.1, the
# internet 203.0.113.2, the host's default route through it.  Traffic goes
# only between these namespaces.  The teardown ends what the test started,
# by pid, sweeps the host namespace thoroughly (bridge included), checks
# that its lease directory is gone and deletes both namespaces.
#
# NET_DRIVER=PATH runs another build of the driver (a sanitizer build, say:
# clang -fsanitize=address,undefined ... tests/net/driver.c net.c netlink.c
# util.c passes the whole file).

load helpers

DRIVER=${NET_DRIVER:-$REPO/build/net/driver}
HTTPD=$REPO/build/payloads/httpd
GET=$REPO/build/payloads/http-get

setup_file() {
    [[ $(id -u) == 0 ]] || fail "these tests need root"
    command -v ip >/dev/null || fail "ip (iproute2) is needed to make the test namespaces"
    make -s -C "$REPO" build/net/driver build/payloads/httpd build/payloads/http-get >&2 ||
        fail "could not build the driver and the payloads"
}

setup() {
    H=sdt-host-$$-$BATS_TEST_NUMBER
    I=sdt-inet-$$-$BATS_TEST_NUMBER
    T=$BATS_TEST_TMPDIR
    ip netns add "$H"
    ip netns add "$I"
    ip -n "$H" link set lo up
    ip -n "$I" link set lo up
    ip -n "$H" link add up0 type veth peer name wan0 netns "$I"
    ip -n "$H" addr add 203.0.113.1/24 dev up0
    ip -n "$I" addr add 203.0.113.2/24 dev wan0
    ip -n "$H" link set up0 up
    ip -n "$I" link set wan0 up
    ip -n "$H" route add default via 203.0.113.2
    # The lease directory of this host namespace: named after its inode.
    LEASES=/run/sdocker/net/$(stat -L -c %i "/run/netns/$H")
    mkdir -p "$T/www"
    echo "page of the container" >"$T/www/index.html"
    echo "page of the internet" >"$T/www/inet.html"
}

teardown() {
    local pid left=
    if [[ -f $T/pids ]]; then
        while read -r pid; do
            kill -TERM "$pid" 2>/dev/null || true
        done <"$T/pids"
        while read -r pid; do
            wait "$pid" 2>/dev/null || true
        done <"$T/pids"
    fi
    # Every container has ended: nothing of theirs may be left but the
    # bridge (and the empty lease directory), whichever way they ended.
    [[ $(show table) == absent ]] || left+=" the nft table;"
    [[ $(show files) == 0 ]] || left+=" files in $LEASES: $(ls -A "$LEASES");"
    wait_no_veths 10 2>/dev/null || left+=" veths: $(veths);"
    ip netns exec "$H" "$DRIVER" sweep --thorough >/dev/null 2>&1 || left+=" the sweep failed;"
    [[ ! -e $LEASES ]] || left+=" $LEASES after --cleanup;"
    ip netns del "$H" 2>/dev/null || true
    ip netns del "$I" 2>/dev/null || true
    [[ -z $left ]] || fail "left behind:$left"
}

# in_host CMD...: run CMD in the test's host namespace.
in_host() {
    ip netns exec "$H" "$@"
}

# bg NAME CMD...: run CMD in the background, output in $T/NAME.out and
# .err; remembered for the teardown.  Sets BG.
bg() {
    local name=$1
    shift
    "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null 3>&- &
    BG=$!
    echo "$BG" >>"$T/pids"
}

# wait_for FILE REGEX [SECS]: until a line of FILE matches.
wait_for() {
    local deadline=$((SECONDS + ${3:-10}))
    until grep -Eq -- "$2" "$1" 2>/dev/null; do
        ((SECONDS <= deadline)) || {
            fail "no '$2' in $1 after ${3:-10} s:" "$(cat "$1" "${1%.out}.err" 2>/dev/null)"
            return 1
        }
        sleep 0.05
    done
}

# container NAME [DRIVER OPTIONS] -- CMD...: a fake container in the
# background; waits for its lease and sets ADDR, CPID (the driver's pid,
# sdocker_run's stand-in) and CID (the container's id, its init's pid).
container() {
    local name=$1
    shift
    bg "$name" ip netns exec "$H" "$DRIVER" run "$@"
    CPID=$BG
    wait_for "$T/$name.out" '^lease ' || return 1
    ADDR=$(awk '/^lease /{print $2; exit}' "$T/$name.out")
    CID=$(awk '/^lease /{sub(/^veth/, "", $3); print $3; exit}' "$T/$name.out")
}

# stop PID: SIGTERM (the driver passes it to the command), then reap.
stop() {
    kill -TERM "$1"
    STATUS=0
    wait "$1" || STATUS=$?
}

# show KEY: a line of `driver show` in the host namespace.
show() {
    in_host "$DRIVER" show | sed -n "s/^$1: //p"
}

# veths: the host sides of containers' veth pairs in the host namespace.
veths() {
    ip -n "$H" -o link show | awk -F': ' '$2 ~ /^veth[0-9]+@/ {sub(/@.*/, "", $2); print $2}'
}

# wait_no_veths [SECS]: the kernel removes a pair with its namespace, a
# moment after the container's end.
wait_no_veths() {
    local deadline=$((SECONDS + ${1:-10}))
    while [[ -n $(veths) ]]; do
        ((SECONDS <= deadline)) || {
            fail "veths still there: $(veths)"
            return 1
        }
        sleep 0.1
    done
}

# --- traffic ------------------------------------------------------------

@test "two containers exchange data by address; each gets its etc files" {
    container web -- "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/web.out" 'listening'
    local web=$ADDR
    [[ $web == 172.29.0.2 ]] || fail "first address: $web"
    run ip netns exec "$H" "$DRIVER" run -- "$GET" "http://$web/index.html"
    [[ $status == 0 ]] || fail "status $status: $output"
    [[ $output == *"page of the container"* ]] || fail "$output"
    local client
    client=$(awk '/^lease /{print $2}' <<<"$output")
    [[ $client == 172.29.0.3 ]] || fail "second address: $client"
    # Between containers on the bridge nothing is translated.
    grep -q "^$client:[0-9]* GET /index.html 200\$" "$T/web.out" ||
        fail "the server did not see $client:" "$(cat "$T/web.out")"
    # Its etc files, while it runs.
    local hosts hostname resolv
    read -r _ hosts hostname resolv < <(grep '^etc ' "$T/web.out")
    grep -qx "$web	sdocker@[0-9]*" "$hosts" || fail "hosts: $(cat "$hosts")"
    grep -q '^sdocker@' "$hostname" || fail "hostname: $(cat "$hostname")"
    grep -q '^# the host' "$resolv" || fail "resolv.conf: $(cat "$resolv")"
    if grep -qE '^nameserver +127\.' /etc/resolv.conf; then
        ! grep -qE '^nameserver +127\.' "$resolv" || fail "a loopback nameserver got through"
    fi
    stop "$CPID"
    [[ ! -e $hosts && ! -e $hostname && ! -e $resolv ]] || fail "etc files left: $(ls "$LEASES")"
}

@test "the host reaches a published port on 127.0.0.1 and on its address; the outside too" {
    container web --publish 8080:80 --publish 127.0.0.1:8081:80 -- "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/web.out" 'listening'
    run in_host "$GET" -t 5 "http://$ADDR/"
    [[ $status == 0 && $output == "page of the container" ]] || fail "direct: $status $output"
    run in_host "$GET" -t 5 http://127.0.0.1:8080/
    [[ $status == 0 && $output == "page of the container" ]] || fail "127.0.0.1:8080: $status $output"
    run in_host "$GET" -t 5 http://203.0.113.1:8080/
    [[ $status == 0 && $output == "page of the container" ]] || fail "203.0.113.1:8080: $status $output"
    run ip netns exec "$I" "$GET" -t 5 http://203.0.113.1:8080/
    [[ $status == 0 && $output == "page of the container" ]] || fail "from outside: $status $output"
    # Published on 127.0.0.1 only: not on the host's other address.
    run in_host "$GET" -t 5 http://127.0.0.1:8081/
    [[ $status == 0 ]] || fail "127.0.0.1:8081: $status $output"
    run in_host "$GET" -t 5 http://203.0.113.1:8081/
    [[ $status == 1 && $output == *"Connection refused"* ]] || fail "203.0.113.1:8081 answered: $output"
    # From 127.0.0.1 the container sees the bridge's address (masquerade);
    # from outside, the real peer.
    grep -q '^172\.29\.0\.1:[0-9]* GET / 200$' "$T/web.out" || fail "$(cat "$T/web.out")"
    grep -q '^203\.0\.113\.2:[0-9]* GET / 200$' "$T/web.out" || fail "$(cat "$T/web.out")"
    # nft reads the rules back as written, when it is installed.
    if command -v nft >/dev/null; then
        run in_host nft list table ip sdocker
        [[ $output == *"fib daddr type local tcp dport 8080 counter packets "*" dnat to $ADDR:80 comment \"container "* ]] ||
            fail "$output"
        [[ $output == *"ip daddr 127.0.0.1 tcp dport 8081"* ]] || fail "$output"
        [[ $output == *'ip saddr 172.29.0.0/24 oifname != "sdocker0" counter packets '*' masquerade'* ]] ||
            fail "$output"
    fi
}

@test "an address given again is reachable at once: the MAC follows the address" {
    # The host's ARP entry for 172.29.0.2 outlives the container that had
    # it; had the next one another MAC, the host would send to the old one
    # for seconds (neighbour entries are REACHABLE for 15 to 45 s).  A
    # third container keeps the bridge's carrier up: when the last port
    # goes, the kernel flushes the bridge's neighbours anyway.
    container keeper -- sleep 30
    container one -- "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/one.out" 'listening'
    local first=$ADDR
    run in_host "$GET" -t 3 "http://$first/"
    [[ $status == 0 ]] || fail "first: $output"
    stop "$CPID"
    container two -- "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/two.out" 'listening'
    [[ $ADDR == "$first" ]] || fail "the address was not given again: $ADDR"
    run in_host "$GET" -t 2 "http://$ADDR/"
    [[ $status == 0 ]] || fail "second: $output"
}

@test "a container reaches a published port of the host: its own (hairpin) and another's" {
    container web --publish 8080:80 -- "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/web.out" 'listening'
    local web=$CID
    # From the web container itself, through the host's port: DNAT sends
    # it back to where it came from.
    run nsenter -t "$web" -n "$GET" -t 5 http://203.0.113.1:8080/
    [[ $status == 0 && $output == "page of the container" ]] || fail "hairpin: $status $output"
    run ip netns exec "$H" "$DRIVER" run -- "$GET" -t 5 http://203.0.113.1:8080/
    [[ $status == 0 && $output == *"page of the container"* ]] || fail "from another: $status $output"
    # Both come from the bridge's address, as through docker's proxy.
    [[ $(grep -c '^172\.29\.0\.1:[0-9]* GET / 200$' "$T/web.out") == 2 ]] || fail "$(cat "$T/web.out")"
}

@test "a container reaches the stand-in internet through NAT; the far side sees the host" {
    bg inet ip netns exec "$I" "$HTTPD" -p 80 -d "$T/www"
    wait_for "$T/inet.out" 'listening'
    run ip netns exec "$H" "$DRIVER" run -- "$GET" -t 5 http://203.0.113.2/inet.html
    [[ $status == 0 ]] || fail "status $status: $output"
    [[ $output == *"page of the internet"* ]] || fail "$output"
    # The internet has no route to 172.29.0.0/24: only NAT can make it work.
    grep -q '^203\.0\.113\.1:[0-9]* GET /inet.html 200$' "$T/inet.out" ||
        fail "the far side saw:" "$(cat "$T/inet.out")"
    # The counters of the container's eth0: a TCP exchange each way.
    local rx_p tx_p rx_b
    rx_p=$(sed -n 's/.* rx_packets=\([0-9]*\).*/\1/p' <<<"$output")
    tx_p=$(sed -n 's/.* tx_packets=\([0-9]*\).*/\1/p' <<<"$output")
    rx_b=$(sed -n 's/.* rx_bytes=\([0-9]*\).*/\1/p' <<<"$output")
    ((rx_p >= 3 && tx_p >= 3 && rx_b > 100)) || fail "counters: $output"
}

@test "ping from a container reaches the host and, through NAT, the internet (the seed's last step)" {
    command -v ping >/dev/null ||
        skip "ping is not installed (apt-get install iputils-ping: the labs need it in the rootfs)"
    run ip netns exec "$H" "$DRIVER" run -- sh -c 'ping -c 1 -W 2 172.29.0.1 && ping -c 1 -W 2 203.0.113.2'
    [[ $status == 0 ]] || fail "status $status: $output"
    [[ $output == *"1 packets transmitted, 1 received"*"1 packets transmitted, 1 received"* ]] ||
        fail "$output"
}

@test "route_localnet's guard: a container cannot send to the host's 127.0.0.0/8" {
    # The attack of CVE-2020-8558: with route_localnet=1 on the bridge
    # (needed for ports published on 127.0.0.1), the host would accept a
    # packet from a container addressed to 127.0.0.1.  The container here
    # routes 127.0.0.0/8 to the bridge and sends UDP to port 9, where
    # nothing listens: each datagram that reaches the host counts in its
    # UdpNoPorts.  (A container needs CAP_NET_ADMIN for these routes, or
    # only CAP_NET_RAW to build such a packet itself.)
    local send='ip route del 127.0.0.0/8 dev lo table local
        ip route del local 127.0.0.1 dev lo table local
        ip route add 127.0.0.0/8 via 172.29.0.1 dev eth0
        sleep 0.3
        for i in 1 2 3; do echo x >/dev/udp/127.0.0.1/9; done
        sleep 0.2'
    local before after
    before=$(in_host nstat -asz UdpNoPorts | awk '$1 == "UdpNoPorts" {print $2}')
    run ip netns exec "$H" "$DRIVER" run -- bash -c "$send"
    [[ $status == 0 ]] || fail "$output"
    after=$(in_host nstat -asz UdpNoPorts | awk '$1 == "UdpNoPorts" {print $2}')
    [[ $after == "$before" ]] || fail "the host received $((after - before)) datagrams for 127.0.0.1"
    # The control, when nft is there to remove the guard: then they do
    # arrive, so the check above can fail.
    if command -v nft >/dev/null; then
        bg attacker ip netns exec "$H" "$DRIVER" run -- bash -c "$send"
        wait_for "$T/attacker.out" '^lease '
        in_host nft flush chain ip sdocker guard
        wait "$BG" || true
        after=$(in_host nstat -asz UdpNoPorts | awk '$1 == "UdpNoPorts" {print $2}')
        ((after == before + 3)) || fail "without the guard: $((after - before)) of 3 arrived"
    else
        note "nft is not installed: the control without the guard did not run"
    fi
}

# --- leases --------------------------------------------------------------

@test "parallel starts get distinct addresses" {
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        bg "p$i" ip netns exec "$H" "$DRIVER" run -- sleep 30
        pids+=("$BG")
    done
    for i in 1 2 3 4 5 6 7 8; do
        wait_for "$T/p$i.out" '^lease ' 20
    done
    local n
    n=$(awk '/^lease /{print $2}' "$T"/p*.out | sort -u | wc -l)
    ((n == 8)) || fail "8 containers, $n addresses:" "$(grep -h '^lease' "$T"/p*.out)"
    local leases=("$LEASES"/172.29.0.*)
    [[ ${#leases[@]} == 8 ]] || fail "leases: ${leases[*]}"
    for i in "${pids[@]}"; do
        stop "$i"
    done
    [[ $(show table) == absent ]] || fail "the table outlived the last container"
}

@test "after the last container: table, veths, leases gone; the bridge stays until --cleanup" {
    container a -- sleep 30
    local a=$CPID
    container b --publish 8080:80 -- sleep 30
    local b=$CPID
    [[ $(show table) == present ]]
    [[ $(veths | wc -l) == 2 ]] || fail "veths: $(veths)"
    stop "$a"
    [[ $STATUS == 143 ]] || fail "sleep ended with $STATUS, not by SIGTERM (143)"
    [[ $(show table) == present ]] || fail "the table went with the first of two containers"
    [[ $(show rules) == 6 ]] || fail "rules: $(show rules) (4 fixed, 2 for b's port)"
    stop "$b"
    [[ $(show table) == absent ]] || fail "the table outlived the last container"
    [[ $(show files) == 0 ]] || fail "files left: $(ls -A "$LEASES")"
    wait_no_veths 10
    ip -n "$H" link show sdocker0 >/dev/null || fail "the bridge went with the last container"
    run in_host "$DRIVER" sweep --thorough
    [[ $status == 0 ]]
    [[ $output == *"removed bridge sdocker0"* ]] || fail "$output"
    ! ip -n "$H" link show sdocker0 >/dev/null 2>&1 || fail "--cleanup left the bridge"
    [[ ! -e $LEASES ]] || fail "--cleanup left $LEASES"
}

@test "after SIGKILL of sdocker_run's stand-in, the sweep removes lease, rules and veth" {
    container a -- sleep 30
    container victim --publish 8080:80 -- sleep 30
    local victim=$CPID addr=$ADDR
    kill -KILL "$victim"
    wait "$victim" || true
    # The container dies with it (PDEATHSIG); what it made stays.
    [[ -e $LEASES/$addr ]] || fail "no lease left to sweep (the test proves nothing)"
    [[ $(show rules) == 6 ]] || fail "rules before the sweep: $(show rules)"
    run in_host "$DRIVER" sweep
    [[ $status == 0 && $output == *"swept 1"* ]] || fail "$status: $output"
    [[ ! -e $LEASES/$addr ]] || fail "the lease is still there"
    [[ $(show rules) == 4 ]] || fail "rules after the sweep: $(show rules)"
    [[ $(show table) == present ]] || fail "the table went though a container runs"
    # The other container is untouched; the dead one's veth goes.
    local deadline=$((SECONDS + 10))
    while [[ $(veths | wc -l) != 1 ]]; do
        ((SECONDS <= deadline)) || fail "veths: $(veths)"
        sleep 0.1
    done
    [[ -e $LEASES/172.29.0.2 ]] || fail "the live lease went"
}

@test "after SIGKILL of the last one, a sweep removes the table too" {
    container victim --publish 8080:80 -- sleep 30
    kill -KILL "$CPID"
    wait "$CPID" || true
    [[ $(show table) == present ]]
    run in_host "$DRIVER" sweep
    [[ $status == 0 && $output == *"swept 1"* ]] || fail "$output"
    [[ $(show table) == absent && $(show files) == 0 ]] || fail "$(in_host "$DRIVER" show)"
    wait_no_veths 10
}

# --- refusals: one line, 125, nothing made ----------------------------------

# refused PATTERN DRIVER-ARGS...: the driver exits 125 with one line on
# stderr matching PATTERN, and leaves nothing in the host namespace.
refused() {
    local pattern=$1 before
    shift
    before=$(show rules)
    run --separate-stderr ip netns exec "$H" "$DRIVER" run "$@"
    [[ $status == 125 ]] || fail "status $status, stderr: $stderr"
    [[ $(wc -l <<<"$stderr") == 1 ]] || fail "not one line: $stderr"
    [[ $stderr =~ $pattern ]] || fail "'$stderr' does not match '$pattern'"
    [[ $(show rules) == "$before" ]] || fail "rules changed: $before -> $(show rules)"
}

@test "a --subnet that overlaps a route is refused; the default avoids it" {
    ip -n "$H" route add 10.99.0.0/16 dev up0
    refused 'subnet 10\.99\.1\.0/24 overlaps the route 10\.99\.0\.0/16 dev up0' \
        --subnet 10.99.1.0/24 -- true
    ! ip -n "$H" link show sdocker0 >/dev/null 2>&1 || fail "a bridge was made"
    [[ ! -e $LEASES ]] || fail "the lease directory was made"
    ip -n "$H" route add 172.29.0.0/16 dev up0
    run ip netns exec "$H" "$DRIVER" run -- true
    [[ $status == 0 && $output == *"lease 172.30.0.2 "*" 172.30.0.0/24 172.30.0.1"* ]] || fail "$output"
}

@test "a port already published, or in use, or not the host's, is refused" {
    container a --publish 8080:80 -- sleep 30
    refused "port 8080/tcp is already published by container $CID\$" --publish 8080:81 -- true
    local leases=("$LEASES"/172.29.*)
    [[ ${#leases[@]} == 1 ]] || fail "leases: ${leases[*]}"
    # The same port over UDP is another port.
    run ip netns exec "$H" "$DRIVER" run --publish 8080:80/udp -- true
    [[ $status == 0 ]] || fail "8080/udp: $output"
    bg hostsrv ip netns exec "$H" "$HTTPD" -p 9090 -d "$T/www"
    wait_for "$T/hostsrv.out" listening
    refused 'port 9090/tcp is already in use on this host' --publish 9090:80 -- true
    refused '10\.9\.9\.9 is not an address of this host' --publish 10.9.9.9:8081:80 -- true
    refused 'publish 127\.0\.0\.1:8082/tcp: that host port is given twice' \
        --publish 8082:80 --publish 127.0.0.1:8082:81 -- true
}

@test "a --subnet other than the bridge's is refused while it exists" {
    container a -- sleep 30
    refused 'sdocker0 already has 172\.29\.0\.0/24' --subnet 10.99.1.0/24 -- true
}

@test "malformed --publish and --subnet are refused before anything is made" {
    refused "--publish '99999:80': ports are 1 to 65535" --publish 99999:80 -- true
    refused "--publish 'abc': not \[IP:\]HOSTPORT:PORT" --publish abc -- true
    refused "--publish '8080:80/sctp'" --publish 8080:80/sctp -- true
    refused "--subnet '10.0.0.0/8': the prefix must be /16 to /29" --subnet 10.0.0.0/8 -- true
    refused "--subnet '172.29.0.5/24': not a network" --subnet 172.29.0.5/24 -- true
    [[ ! -e $LEASES ]] || fail "the lease directory was made"
}

# --- the trace -------------------------------------------------------------

@test "-v traces each kernel request beside the ip command it replaces" {
    run --separate-stderr ip netns exec "$H" "$DRIVER" -v run --publish 8080:80 -- true
    [[ $status == 0 ]] || fail "$stderr"
    local want
    for want in \
        '^=> RTM_NEWLINK sdocker0 type bridge address [0-9a-f:]{17}, up   \(ip link add sdocker0 address [0-9a-f:]{17} type bridge; ip link set sdocker0 up\)$' \
        '^=> RTM_NEWADDR 172\.29\.0\.1/24 brd 172\.29\.0\.255 dev sdocker0   \(ip addr add 172\.29\.0\.1/24 brd \+ dev sdocker0\)$' \
        '^=> sysctl net\.ipv4\.ip_forward=1 ' \
        '^=>   NFT_MSG_NEWRULE ip sdocker postrouting ip saddr 172\.29\.0\.0/24 oifname != "sdocker0" counter masquerade   \(iptables -t nat -A POSTROUTING -s 172\.29\.0\.0/24 ! -o sdocker0 -j MASQUERADE\)$' \
        '^=>   NFT_MSG_NEWRULE ip sdocker prerouting fib daddr type local tcp dport 8080 counter dnat to 172\.29\.0\.2:80 comment "container [0-9]+ 172\.29\.0\.2"   \(iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT --to-destination 172\.29\.0\.2:80\)$' \
        '^=> RTM_NEWLINK veth[0-9]+ type veth peer eth0 address 02:73:ac:1d:00:02 netns fd [0-9]+, master sdocker0, up   \(ip link add veth[0-9]+ master sdocker0 up type veth peer name eth0 address 02:73:ac:1d:00:02 netns [0-9]+\)$' \
        '^=> \[container [0-9]+\] RTM_NEWLINK eth0 up   \(nsenter -t [0-9]+ -n ip link set eth0 up\)$' \
        '^=> \[container [0-9]+\] RTM_NEWADDR 172\.29\.0\.2/24 brd 172\.29\.0\.255 dev eth0   \(nsenter -t [0-9]+ -n ip addr add 172\.29\.0\.2/24 brd \+ dev eth0\)$' \
        '^=> \[container [0-9]+\] RTM_NEWROUTE default via 172\.29\.0\.1 dev eth0   \(nsenter -t [0-9]+ -n ip route add default via 172\.29\.0\.1\)$' \
        '^=>   NFT_MSG_DELTABLE ip sdocker '; do
        grep -Eq -- "$want" <<<"$stderr" || fail "no line matching '$want' in:" "$stderr"
    done
    # Forwarding is said once, for the first container only.
    run --separate-stderr ip netns exec "$H" "$DRIVER" -v run -- true
    [[ $status == 0 && $stderr != *ip_forward* ]] || fail "ip_forward traced again: $stderr"
}
