#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154 # bats: run sets $status, $output, $stderr
#
# netrun.bats: sdocker_run's networks end to end (issue 17): --net bridge,
# host, container:X and none, --subnet, --publish, --report's eth0 counters
# and the sweep, with real containers of the bundled rootfs (its /bin/httpd,
# /bin/http-get and ping) and the default containment.  tests/net.bats
# tests net.c alone through its driver; this file tests what a user runs.
#
# Never this machine's network.  Every test makes its own "host", a network
# namespace (sdn-host-*) in which sdocker_run runs and makes sdocker0, the
# veths and the nft table, and a stand-in internet (sdn-inet-*) behind it:
# host 203.0.113.1 on up0, the internet 203.0.113.2 on wan0, the host's
# default route through it, no route back to the containers' subnet.
# sdocker_run is entered into the host with `nsenter --net=`, never `ip
# netns exec`, which mounts a new /sys and so hides /sys/fs/cgroup.
#
# The teardown ends the test's containers (helpers.bash's way), then says
# what of theirs is left in the host namespace: after the last container no
# veth, lease, etc file, nft table or route but the bridge and its own
# routes.  Then `sdocker_run --cleanup` in the host: the bridge and the
# lease directory go too.  Then the namespaces, and helpers.bash's leak
# check (cgroups, records, IPC objects, mounts, processes).

load helpers

SDRUN=$RUN
HOST_IP=203.0.113.1
INET_IP=203.0.113.2

setup_file() {
    common_setup_file
    command -v ip >/dev/null || fail "ip (iproute2) is needed to make the test namespaces"
    command -v nsenter >/dev/null || fail "nsenter (util-linux) is needed"
    command -v ping >/dev/null || fail "ping (iputils-ping) is needed on the host"
    local f
    # To read sdocker's nft table back with a tool that is not sdocker's
    # (Debian installs nftables with priority important).
    command -v nft >/dev/null || fail "nft (nftables) is needed"
    for f in httpd http-get ping; do
        [[ -x $ROOTFS/bin/$f ]] || fail "$ROOTFS/bin/$f is missing: run make, then make rootfs"
    done
}

setup() {
    common_setup
    H=sdn-host-$$-$BATS_TEST_NUMBER
    I=sdn-inet-$$-$BATS_TEST_NUMBER
    T=$BATS_TEST_TMPDIR
    ip netns add "$H"
    ip netns add "$I"
    NSH=/run/netns/$H
    NSI=/run/netns/$I
    ip -n "$H" link set lo up
    ip -n "$I" link set lo up
    ip -n "$H" link add up0 type veth peer name wan0 netns "$I"
    # No duplicate address detection on up0: its IPv6 link-local address
    # and route are then there at once, not a second later, and the
    # routes taken below as "before" stay what they are.
    in_h sysctl -qw net.ipv6.conf.up0.accept_dad=0
    ip -n "$H" addr add "$HOST_IP/24" dev up0
    ip -n "$I" addr add "$INET_IP/24" dev wan0
    ip -n "$H" link set up0 up
    ip -n "$I" link set wan0 up
    ip -n "$H" route add default via "$INET_IP"
    # sdocker's state for this namespace is named after its inode.
    LEASES=/run/sdocker/net/$(stat -L -c %i "$NSH")
    h_routes >"$T/routes.before"
    h_links >"$T/links.before"
    mkdir -p "$T/www"
    echo "page of the internet" >"$T/www/inet.html"
}

teardown() {
    local rc=0 left
    let_sweeps_run
    stop_own
    end_containers
    left=$(net_leftovers 10)
    # --cleanup: the bridge and the lease directory go as well.
    nsenter --net="$NSH" "$SDRUN" --cleanup >"$T/cleanup.err" 2>&1 ||
        left+=" --cleanup failed: $(cat "$T/cleanup.err");"
    h_has_link sdocker0 && left+=" the bridge after --cleanup;"
    [[ -e $LEASES ]] && left+=" $LEASES after --cleanup;"
    [[ $(h_routes) == "$(cat "$T/routes.before")" ]] ||
        left+=" routes after --cleanup: $(diff "$T/routes.before" <(h_routes) | grep '^[<>]');"
    ip netns del "$H" 2>/dev/null || true
    ip netns del "$I" 2>/dev/null || true
    common_teardown || rc=1
    [[ -z $left ]] || fail "left in the test's host namespace:$left" || rc=1
    return "$rc"
}

# --- the test's namespaces -------------------------------------------------

# in_h CMD...: CMD in the test's host network namespace (and nothing else
# of it: the host's mounts, so /sys/fs/cgroup stays in sight).
in_h() {
    nsenter --net="$NSH" "$@"
}

# in_i CMD...: CMD in the stand-in internet.
in_i() {
    nsenter --net="$NSI" "$@"
}

# sdrun NAME ARG...: sdocker_run ARG... in the background in the host
# namespace (helpers.bash's start_bg: NAME.out, NAME.err, BG_PID, tracked
# for the teardown).  nsenter execs sdocker_run in its own process, so
# BG_PID is sdocker_run's pid.
sdrun() {
    local name=$1
    shift
    RUN=nsenter start_bg "$name" --net="$NSH" "$SDRUN" "$@"
}

# container NAME ARG...: sdrun, then wait for its id (CID).
container() {
    sdrun "$@" || return 1
    wait_for_id "$1"
}

# own NAME CMD...: a helper process of the test's (not a container), in
# the background, killed by pid in the teardown.  Sets OWN.
own() {
    local name=$1
    shift
    "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null 3>&- &
    OWN=$!
    echo "$OWN" >>"$T/own.pids"
}

stop_own() {
    local pid
    [[ -f $T/own.pids ]] || return 0
    while read -r pid; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done <"$T/own.pids"
    rm -f -- "$T/own.pids"
}

# end_containers: what common_teardown does first (SIGKILL each container
# init the test started, then reap its sdocker_run, which cleans up after
# it), done before the network checks so that they see what the runs left.
end_containers() {
    local id st pid bpid
    if [[ -f $T/ids ]]; then
        while read -r id st; do
            same_process "$id" "$st" && kill -KILL "$id" 2>/dev/null
        done <"$T/ids"
    fi
    [[ -f $T/bg.pids ]] || return 0
    while read -r pid bpid _; do
        grep -qx "$pid" "$T/reaped" 2>/dev/null && continue
        is_child_of "$pid" "$bpid" || continue
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
        wait_bg "$pid"
    done <"$T/bg.pids"
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

# addr_of ID: the IPv4 address of container ID's eth0, read from outside.
addr_of() {
    nsenter -t "$1" -n ip -4 -o addr show dev eth0 | awk '{ sub(/\/.*/, "", $4); print $4 }'
}

# lease_files: what is in the namespace's lease directory; leases: the
# leases alone (files named after an address).
lease_files() {
    find "$LEASES" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null || true
}

leases() {
    lease_files | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' || true
}

# h_routes: every route of the host namespace, both families, all tables.
h_routes() {
    ip -n "$H" -4 route show table all
    ip -n "$H" -6 route show table all
}

# h_links: the names of the host namespace's interfaces.
h_links() {
    ip -n "$H" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'
}

h_has_link() {
    ip -n "$H" link show "$1" >/dev/null 2>&1
}

# h_veths: the host sides of containers' veth pairs (veth<id>).
h_veths() {
    h_links | grep -E '^veth[0-9]+$' || true
}

# h_table: "present" or "absent", sdocker's nft table in the host namespace.
h_table() {
    local t
    t=$(in_h nft list tables ip) || {
        fail "nft list tables ip failed"
        return 1
    }
    if grep -qx 'table ip sdocker' <<<"$t"; then echo present; else echo absent; fi
}

# h_dnat: the DNAT rules of containers in the host namespace, one line
# each, without their counters.
h_dnat() {
    in_h nft list table ip sdocker 2>/dev/null | grep 'comment "container ' |
        sed -E 's/ counter packets [0-9]+ bytes [0-9]+//; s/^[[:space:]]+//' || true
}

# net_leftovers [SECS]: what the host namespace holds of containers that
# have all ended, one phrase each: their veths (the kernel removes a pair
# with its namespace, a moment after the container's end: hence SECS),
# lease and etc files, the nft table, routes that were not there before but
# for the bridge's own.  The bridge itself may stay.  Prints nothing when
# clean.
net_leftovers() {
    local deadline=$((SECONDS + ${1:-0})) left
    while :; do
        left=
        [[ -n $(h_veths) ]] && left+=" veths: $(h_veths | tr '\n' ' ');"
        [[ -n $(lease_files) ]] && left+=" in $LEASES: $(lease_files | tr '\n' ' ');"
        [[ $(h_table) == absent ]] || left+=" the nft table ip sdocker;"
        [[ $(h_routes | grep -v ' dev sdocker0\b') == "$(cat "$T/routes.before")" ]] ||
            left+=" routes: $(diff "$T/routes.before" <(h_routes | grep -v ' dev sdocker0\b') | grep '^[<>]' | tr '\n' ' ');"
        [[ -z $left ]] && return 0
        ((SECONDS < deadline)) || break
        sleep 0.2
    done
    printf '%s' "$left"
}

# --- traffic ----------------------------------------------------------------

@test "two bridged containers exchange data by address" {
    container web --net bridge "$ROOTFS" httpd -p 80 -d /etc
    local web=$CID addr
    wait_for "$T/web.out" listening
    addr=$(addr_of "$web")
    [[ $addr == 172.29.0.2 ]] || fail "the first container's address: '$addr'"
    run --separate-stderr in_h "$SDRUN" --net bridge "$ROOTFS" \
        sh -c "ip -4 -o addr show dev eth0 && http-get -t 5 http://$addr/hostname" </dev/null
    [[ $status == 0 ]] || fail "status $status:" "$output" "$stderr"
    # The page is the server's /etc/hostname: the other container answered.
    [[ ${lines[-1]} == "sdocker@$web" ]] || fail "the page: $output"
    local client
    client=$(awk 'NR == 1 { sub(/\/.*/, "", $4); print $4 }' <<<"$output")
    [[ $client == 172.29.0.3 ]] || fail "the second container's address: '$client'"
    # On the bridge nothing is translated: the server saw the client.
    grep -q "^$client:[0-9]* GET /hostname 200\$" "$T/web.out" ||
        fail "the server did not see $client:" "$(cat "$T/web.out")"
}

@test "the host fetches a page by the container's address and through a published port on 127.0.0.1 and on its own address" {
    container web --net bridge -p 8080:80 "$ROOTFS" httpd -p 80 -d /etc
    local web=$CID addr
    wait_for "$T/web.out" listening
    addr=$(addr_of "$web")
    local url
    for url in "http://$addr/hostname" http://127.0.0.1:8080/hostname "http://$HOST_IP:8080/hostname"; do
        run in_h "$ROOTFS/bin/http-get" -t 5 "$url"
        [[ $status == 0 && $output == "sdocker@$web" ]] || fail "$url: status $status: $output"
    done
    # And from the stand-in internet, through the host's address.
    run in_i "$ROOTFS/bin/http-get" -t 5 "http://$HOST_IP:8080/hostname"
    [[ $status == 0 && $output == "sdocker@$web" ]] || fail "from the internet: status $status: $output"
    # From the host's 127.0.0.1 the container sees the bridge's address (a
    # loopback source would be its own lo); from outside, the real peer.
    [[ $(grep -c '^172\.29\.0\.1:[0-9]* GET /hostname 200$' "$T/web.out") -ge 2 ]] ||
        fail "$(cat "$T/web.out")"
    grep -q "^$INET_IP:[0-9]* GET /hostname 200\$" "$T/web.out" || fail "$(cat "$T/web.out")"
}

@test "a container reaches the stand-in internet through NAT; the far side sees the host's address" {
    own inet in_i "$ROOTFS/bin/httpd" -p 80 -d "$T/www"
    wait_for "$T/inet.out" listening
    # Without NAT it could not work: the internet has no route to 172.29/24.
    [[ -z $(ip -n "$I" route show 172.29.0.0/24) ]]
    run --separate-stderr in_h "$SDRUN" --net bridge "$ROOTFS" \
        http-get -t 5 "http://$INET_IP/inet.html" </dev/null
    [[ $status == 0 && $output == "page of the internet" ]] || fail "status $status: $output" "$stderr"
    grep -q "^$HOST_IP:[0-9]* GET /inet.html 200\$" "$T/inet.out" ||
        fail "the far side saw:" "$(cat "$T/inet.out")"
}

@test "ping from a container reaches the bridge and, through NAT, the internet (seed 004's last step)" {
    run --separate-stderr in_h "$SDRUN" --net bridge "$ROOTFS" \
        sh -c "ping -c 1 -W 2 172.29.0.1 && ping -c 1 -W 2 $INET_IP" </dev/null
    [[ $status == 0 ]] || fail "status $status:" "$output" "$stderr"
    [[ $(grep -c '^1 packets transmitted, 1 received' <<<"$output") == 2 ]] || fail "$output"
}

@test "8 parallel starts get 8 distinct addresses, each answering" {
    local i addrs n
    for i in 1 2 3 4 5 6 7 8; do
        sdrun "p$i" --net bridge "$ROOTFS" sh -c 'ip -4 -o addr show dev eth0; exec sleep 60'
    done
    for i in 1 2 3 4 5 6 7 8; do
        wait_for_id "p$i"
        wait_for "$T/p$i.out" 'inet 172\.29\.0\.'
    done
    addrs=$(awk '{ sub(/\/.*/, "", $4); print $4 }' "$T"/p[1-8].out | sort -u)
    n=$(wc -l <<<"$addrs")
    ((n == 8)) || fail "8 containers, $n distinct addresses:" "$(cat "$T"/p[1-8].out)"
    [[ $(leases | grep -c '^172\.29\.0\.') == 8 ]] || fail "leases: $(leases)"
    [[ $(h_veths | wc -l) == 8 ]] || fail "veths: $(h_veths)"
    for i in $addrs; do
        in_h ping -c 1 -W 2 "$i" >/dev/null || fail "$i does not answer the host's ping"
    done
}

# --- the other modes --------------------------------------------------------

@test "--net container:ID|NAME shares the other container's eth0" {
    local name=sdn-web-$$-$BATS_TEST_NUMBER web addr
    container web --name "$name" --net bridge "$ROOTFS" httpd -p 80 -d /etc
    web=$CID
    wait_for "$T/web.out" listening
    addr=$(addr_of "$web")
    run --separate-stderr in_h "$SDRUN" --net "container:$web" "$ROOTFS" \
        sh -c 'readlink /proc/self/ns/net; ip -4 -o addr show dev eth0' </dev/null
    [[ $status == 0 ]] || fail "status $status:" "$output" "$stderr"
    [[ ${lines[0]} == "$(readlink "/proc/$web/ns/net")" ]] || fail "not its namespace: $output"
    [[ ${lines[1]} == *" inet $addr/24 "* ]] || fail "not its eth0 ($addr): $output"
    # By name, and through the shared lo: the other's server answers.
    run --separate-stderr in_h "$SDRUN" --net "container:$name" "$ROOTFS" \
        http-get -t 5 http://127.0.0.1/hostname </dev/null
    [[ $status == 0 && $output == "sdocker@$web" ]] || fail "status $status: $output" "$stderr"
    # One container on the bridge, one lease.
    [[ $(h_veths | wc -l) == 1 && $(leases | wc -l) == 1 ]] ||
        fail "veths: $(h_veths); leases: $(leases)"
}

@test "--net host sees the namespace's own interfaces and makes nothing" {
    run --separate-stderr in_h "$SDRUN" --net host "$ROOTFS" \
        sh -c 'readlink /proc/self/ns/net; ip -4 -o addr show dev up0' </dev/null
    [[ $status == 0 ]] || fail "status $status:" "$output" "$stderr"
    [[ ${lines[0]} == "net:[$(stat -L -c %i "$NSH")]" ]] || fail "not the host's namespace: $output"
    [[ ${lines[1]} == *" inet $HOST_IP/24 "* ]] || fail "no up0 with $HOST_IP: $output"
    [[ $(h_links) == "$(cat "$T/links.before")" ]] || fail "links: $(h_links)"
    [[ ! -e $LEASES ]] || fail "$LEASES was made"
}

@test "--net none (the default) has lo only" {
    local mode
    for mode in "--net none" ""; do
        # shellcheck disable=SC2086 # $mode is zero or two words
        run --separate-stderr in_h "$SDRUN" $mode "$ROOTFS" \
            sh -c 'readlink /proc/self/ns/net; ip -o link show' </dev/null
        [[ $status == 0 ]] || fail "${mode:-default}: status $status:" "$output" "$stderr"
        [[ ${lines[0]} != "net:[$(stat -L -c %i "$NSH")]" ]] || fail "${mode:-default}: the host's namespace"
        [[ ${#lines[@]} == 2 && ${lines[1]} == "1: lo: <LOOPBACK,UP,LOWER_UP> "* ]] ||
            fail "${mode:-default}: not lo alone, up:" "$output"
    done
    [[ $(h_links) == "$(cat "$T/links.before")" ]] || fail "links: $(h_links)"
    [[ ! -e $LEASES ]] || fail "$LEASES was made"
}

@test "--report shows eth0's bytes and packets, each way" {
    # 3 echo requests out, 3 replies in: 98 bytes each on the wire
    # (Ethernet 14, IPv4 20, ICMP 8, ping's 56).
    run --separate-stderr in_h "$SDRUN" --net bridge --report "$ROOTFS" \
        ping -c 3 -i 0.2 -W 2 172.29.0.1 </dev/null
    [[ $status == 0 ]] || fail "status $status:" "$output" "$stderr"
    local line re='^    eth0: ([0-9]+) bytes in ([0-9]+) packets received, ([0-9]+) bytes in ([0-9]+) packets sent$'
    line=$(grep -E "$re" <<<"$stderr") || fail "no eth0 line in the report:" "$stderr"
    [[ $line =~ $re ]]
    local rxb=${BASH_REMATCH[1]} rxp=${BASH_REMATCH[2]} txb=${BASH_REMATCH[3]} txp=${BASH_REMATCH[4]}
    ((rxp >= 3 && txp >= 3 && rxb >= 294 && txb >= 294)) || fail "counters too small: $line"
    # ...and not many more: ARP and the kernel's own IPv6 packets on a new
    # interface (DAD, MLD, a router solicitation).
    ((rxp <= 20 && txp <= 20)) || fail "counters too large for 3 pings: $line"
}

# --- nothing left --------------------------------------------------------------

@test "after the last container: no veth, lease, table or route; the bridge stays until --cleanup" {
    container a --net bridge "$ROOTFS" sleep 60
    local a=$CID pa=$BG_PID
    container b --net bridge -p 8080:80 -p 5353:53/udp "$ROOTFS" sleep 60
    local b=$CID pb=$BG_PID
    [[ $(h_table) == present && $(h_veths | wc -l) == 2 ]] || fail "table $(h_table), veths $(h_veths)"
    [[ -n $(net_leftovers) ]] || fail "the leftover check sees nothing while containers run"
    kill_container "$a"
    wait_bg "$pa"
    [[ $BG_STATUS == 137 ]] || fail "a: status $BG_STATUS"
    [[ $(h_table) == present ]] || fail "the table went with the first of two containers"
    kill_container "$b"
    wait_bg "$pb"
    local left
    left=$(net_leftovers 10)
    [[ -z $left ]] || fail "after the last container:$left"
    h_has_link sdocker0 || fail "the bridge went with the last container"
    run --separate-stderr in_h "$SDRUN" --cleanup
    [[ $status == 0 && $stderr == *"removed bridge sdocker0"* ]] || fail "status $status: $stderr"
    ! h_has_link sdocker0 || fail "--cleanup left the bridge"
    [[ ! -e $LEASES ]] || fail "--cleanup left $LEASES"
    [[ $(h_routes) == "$(cat "$T/routes.before")" ]] || fail "routes: $(h_routes)"
}

# hold_sweeps: a shared flock on /run/sdocker, the lock every start takes
# shared and every sweep exclusively (state.c): while the test holds it,
# no sdocker_run on this host can sweep a dead record, and starts go on.
# Every start sweeps dead runs host-wide, but a dead run's network is swept
# only by the run that finds its record, in that run's own network
# namespace: had another user's run found it first, our namespace would
# keep the dead lease.  Held for a moment; let_sweeps_run lets go.
hold_sweeps() {
    exec {SWEEP_FD}<"$STATE_DIR"
    flock -s "$SWEEP_FD"
}

let_sweeps_run() {
    if [[ -n ${SWEEP_FD-} ]]; then
        exec {SWEEP_FD}<&-
        SWEEP_FD=
    fi
}

# kill_run NAME: a bridged container with a published port whose
# sdocker_run is killed with SIGKILL; the container dies with it
# (PDEATHSIG).  Sets CID and DEAD_ADDR, and checks that there is something
# to sweep.  Returns holding the sweeps (hold_sweeps).
kill_run() {
    container "$1" --net bridge -p 8080:80 "$ROOTFS" sleep 60
    local pid=$BG_PID
    DEAD_ADDR=$(addr_of "$CID")
    [[ $(cat "/proc/$pid/comm") == sdocker_run ]] || fail "$pid is not sdocker_run"
    hold_sweeps
    kill -KILL "$pid"
    wait_bg "$pid"
    wait_gone "$CID" 10 || fail "container $CID outlived its sdocker_run"
    [[ -e $LEASES/$DEAD_ADDR && $(h_table) == present ]] ||
        fail "nothing left to sweep: the test would prove nothing"
}

@test "after SIGKILL of sdocker_run, the next run sweeps its lease, rules and table" {
    kill_run victim
    local dead=$CID
    [[ -e $STATE_DIR/$dead ]] || fail "the dead run's record was swept while the test held the sweeps"
    let_sweeps_run
    # The port is free again for the next one.
    run --separate-stderr in_h "$SDRUN" -v --net bridge -p 8080:80 "$ROOTFS" true </dev/null
    [[ $status == 0 ]] || fail "the next run: status $status: $stderr"
    # Between let_sweeps_run and this run's sweep, another user's run may
    # still have found the record first (see hold_sweeps); then the dead
    # lease stays here until --cleanup, which the test does before it says
    # so.
    if [[ $stderr != *"sweep: container $dead is gone"* ]]; then
        in_h "$SDRUN" --cleanup >/dev/null 2>&1
        skip "another sdocker_run on this host swept container $dead's record first (its lease in this namespace stays until --cleanup)"
    fi
    [[ $stderr == *"sweep: lease $LEASES/$DEAD_ADDR has no owner"* ]] ||
        fail "the next run swept the record but not the lease:" "$stderr"
    [[ ! -e $LEASES/$DEAD_ADDR ]] || fail "the next run did not sweep the dead lease $DEAD_ADDR"
    local left
    left=$(net_leftovers 10)
    [[ -z $left ]] || fail "after the next run:$left"
    assert_cgroups_gone "$dead"
}

@test "after SIGKILL of sdocker_run, swept from another namespace: the next run publishing its port clears the dead rule first" {
    kill_run victim
    local dead=$CID
    let_sweeps_run
    # A run in another network namespace (the stand-in internet) finds the
    # dead record and sweeps only there: the lease and the DNAT rule in
    # this namespace stay behind, with no record left to lead to them.
    run --separate-stderr in_i "$SDRUN" -v "$ROOTFS" true </dev/null
    [[ $status == 0 ]] || fail "the run in the other namespace: status $status: $stderr"
    [[ ! -e $STATE_DIR/$dead ]] || skip "the record of $dead was not swept by that run (another run holds the sweeps)"
    [[ -e $LEASES/$DEAD_ADDR ]] || fail "the dead lease went with its record: the test would prove nothing"
    container web --net bridge -p 8080:80 "$ROOTFS" httpd -p 80 -d /etc
    local web=$CID
    wait_for "$T/web.out" listening
    [[ $(h_dnat | grep 'dport 8080' | grep -vc "comment \"container $web ") == 0 ]] ||
        fail "a DNAT rule for 8080 not of container $web:" "$(h_dnat)"
    [[ ! -e $LEASES/$DEAD_ADDR || $DEAD_ADDR == "$(addr_of "$web")" ]] || fail "the dead lease $DEAD_ADDR stays"
    run in_h "$ROOTFS/bin/http-get" -t 5 http://127.0.0.1:8080/hostname
    [[ $status == 0 && $output == "sdocker@$web" ]] || fail "the published port: status $status: $output"
}

@test "after SIGKILL of sdocker_run, --cleanup removes everything, the bridge too" {
    kill_run victim
    let_sweeps_run
    run --separate-stderr in_h "$SDRUN" --cleanup
    [[ $status == 0 ]] || fail "status $status: $stderr"
    [[ $stderr == *"removed lease $LEASES/$DEAD_ADDR (container $CID)"* ]] ||
        note "--cleanup did not name the lease (another run swept it first?): $stderr"
    [[ $stderr == *"removed bridge sdocker0"* ]] || fail "$stderr"
    ! h_has_link sdocker0 || fail "--cleanup left the bridge"
    [[ ! -e $LEASES ]] || fail "--cleanup left $LEASES"
    [[ $(h_table) == absent ]] || fail "--cleanup left the nft table"
    [[ -z $(h_veths) ]] || fail "--cleanup left veths: $(h_veths)"
    [[ $(h_routes) == "$(cat "$T/routes.before")" ]] || fail "routes: $(h_routes)"
}

# --- refusals: one line, 125, nothing made -----------------------------------

TRY="Try 'sdocker_run --help' for more information."

# refused PATTERN ARG...: sdocker_run ARG... in the host namespace exits
# 125 with one line matching PATTERN (the Try line may follow an option
# error), starts no container and leaves the namespace as it was.
refused() {
    local pattern=$1
    shift
    run --separate-stderr in_h "$SDRUN" "$@" </dev/null
    [[ $status == 125 ]] || fail "status $status, not 125:" "$stderr"
    [[ -z $output ]] || fail "something on stdout: $output"
    [[ ${stderr_lines[0]} == "sdocker_run: "* && ${stderr_lines[0]} =~ $pattern ]] ||
        fail "'${stderr_lines[0]}' does not match '$pattern'"
    [[ ${#stderr_lines[@]} == 1 || (${#stderr_lines[@]} == 2 && ${stderr_lines[1]} == "$TRY") ]] ||
        fail "not one line:" "$stderr"
    nothing_made
}

# refused_early PATTERN ARG...: refused, and before anything was made: with
# -v there is no step to trace.
refused_early() {
    refused "$@"
    local pattern=$1
    shift
    run --separate-stderr in_h "$SDRUN" -v "$@" </dev/null
    [[ $status == 125 ]] || fail "-v: status $status"
    ! grep -q '^=> ' <<<"$stderr" || fail "with -v, steps ran before the refusal:" "$stderr"
}

# nothing_made: no new interface, route, lease or table in the host
# namespace; the teardown's leak check covers cgroups and records.
nothing_made() {
    [[ $(h_links) == "$(cat "$T/links.before")" ]] || fail "links made: $(h_links)"
    [[ $(h_routes) == "$(cat "$T/routes.before")" ]] || fail "routes made: $(h_routes)"
    [[ ! -e $LEASES ]] || fail "$LEASES was made: $(lease_files)"
    [[ $(h_table) == absent ]] || fail "the nft table was made"
}

@test "refused: a --subnet that collides with a route of the host" {
    ip -n "$H" route add 10.99.0.0/16 dev up0
    h_routes >"$T/routes.before"
    refused '^sdocker_run: --subnet 10\.99\.1\.0/24 overlaps the route 10\.99\.0\.0/16 dev up0 of this host$' \
        --net bridge --subnet 10.99.1.0/24 "$ROOTFS" true
    [[ $stderr != *"start container"* ]] || fail "a container started: $stderr"
}

@test "refused: a port published twice, by one run or by two; another --subnet while the bridge has one" {
    refused '^sdocker_run: --publish 127\.0\.0\.1:8080/tcp: that host port is given twice$' \
        --net bridge -p 8080:80 -p 127.0.0.1:8080:81 "$ROOTFS" true
    container a --net bridge -p 8080:80 "$ROOTFS" sleep 60
    local a=$CID links routes
    links=$(h_links)
    # IPv4 only: a's veth and the bridge get their IPv6 link-local routes
    # when duplicate address detection ends, a second or two from now.
    routes=$(ip -n "$H" -4 route show table all)
    # nothing_made wants no lease directory and no table: a runs, so check
    # by hand that b got no lease and no rule.
    local rules
    rules=$(h_dnat)
    [[ $(wc -l <<<"$rules") == 2 ]] || fail "a's DNAT rules (prerouting, output):" "$rules"
    run --separate-stderr in_h "$SDRUN" --net bridge -p 8080:81 "$ROOTFS" true </dev/null
    [[ $status == 125 && $stderr == "sdocker_run: --publish 0.0.0.0:8080: port 8080/tcp is already published by container $a" ]] ||
        fail "status $status: $stderr"
    run --separate-stderr in_h "$SDRUN" --net bridge --subnet 10.98.0.0/24 "$ROOTFS" true </dev/null
    [[ $status == 125 && ${#stderr_lines[@]} == 1 &&
        $stderr == "sdocker_run: --subnet 10.98.0.0/24: sdocker0 already has 172.29.0.0/24; "* ]] ||
        fail "status $status: $stderr"
    [[ $(leases | wc -l) == 1 ]] || fail "leases: $(leases)"
    [[ $(h_dnat) == "$rules" ]] || fail "DNAT rules changed:" "$(h_dnat)"
    [[ $(h_links) == "$links" ]] || fail "links: $(h_links)"
    [[ $(ip -n "$H" -4 route show table all) == "$routes" ]] || fail "routes: $(h_routes)"
}

@test "refused: invalid --net, --subnet and --publish specs" {
    refused_early "^sdocker_run: --net 'bogus': one of none, bridge, host, container:ID\|NAME$" \
        --net bogus "$ROOTFS" true
    refused_early "^sdocker_run: --net 'container:': " --net container: "$ROOTFS" true
    refused_early "^sdocker_run: --publish 'abc': not \[IP:\]HOSTPORT:PORT" --net bridge -p abc "$ROOTFS" true
    refused_early "^sdocker_run: --publish '99999:80': " --net bridge -p 99999:80 "$ROOTFS" true
    refused_early "^sdocker_run: --publish '8080:80/sctp': " --net bridge -p 8080:80/sctp "$ROOTFS" true
    refused_early "^sdocker_run: --subnet '10\.0\.0\.0/8': .*N from 16 to 29" \
        --net bridge --subnet 10.0.0.0/8 "$ROOTFS" true
    refused_early "^sdocker_run: --subnet '172\.29\.0\.5/24': .*host bits 0" \
        --net bridge --subnet 172.29.0.5/24 "$ROOTFS" true
    refused '^sdocker_run: --publish 10\.9\.9\.9:8080: 10\.9\.9\.9 is not an address of this host$' \
        --net bridge -p 10.9.9.9:8080:80 "$ROOTFS" true
}

@test "refused: --publish or --subnet without --net bridge" {
    local mode
    for mode in "" "--net none" "--net host"; do
        # shellcheck disable=SC2086 # $mode is zero or two words
        refused_early '^sdocker_run: --subnet and --publish go with --net bridge$' \
            $mode -p 8080:80 "$ROOTFS" true
    done
    refused_early '^sdocker_run: --subnet and --publish go with --net bridge$' \
        --net host --subnet 10.98.0.0/24 "$ROOTFS" true
}

@test "refused: --net container: naming no running container" {
    refused_early '^sdocker_run: --net container:nosuch: no running container by that id or name$' \
        --net container:nosuch "$ROOTFS" true
    # A live process that is not a container: this shell.
    refused_early "^sdocker_run: --net container:$$: no running container by that id or name\$" \
        --net "container:$$" "$ROOTFS" true
}
