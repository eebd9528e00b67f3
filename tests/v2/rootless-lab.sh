#!/usr/bin/env bash
# rootless-lab.sh: the rootless OOM lab of README, in the v2 guest, as a
# user would type it (make lab-rootless-v2): a user
# (uid 1500) whose cgroup subtree is delegated to it, as systemd's
# user@.service makes it.  Throw-away guest only.
set -u
cd -- "$(dirname -- "$0")/../.." || exit 1
[[ -d /etc/sdocker-v2 ]] || { echo "$0: runs in the cgroup v2 guest only (make lab-rootless-v2)" >&2; exit 1; }
echo "student:x:1500:1500::/home/student:/bin/bash" >>/etc/passwd
echo "student:x:1500:" >>/etc/group
mkdir -p /home/student/run && cp -a rootfs /home/student/rootfs && cp sdocker_run sdocker_exec sdocker_ps /home/student/
chown -R 1500:1500 /home/student/run && chmod 755 /home/student
top=/sys/fs/cgroup/user.slice/user-1500.slice/user@1500.service
mkdir -p "$top/app.slice/shell"
chown -R 1500:1500 "$top"
for c in cpu memory pids; do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; echo "+$c" >/sys/fs/cgroup/user.slice/cgroup.subtree_control; echo "+$c" >/sys/fs/cgroup/user.slice/user-1500.slice/cgroup.subtree_control; done 2>/dev/null
cat >/home/student/lab <<'EOS'
show() { printf '$ %s\n' "$*"; eval "$@"; st=$?; }
cd ~
show id
show cat /proc/self/cgroup
show cat /sys/fs/cgroup/user.slice/user-1500.slice/user@1500.service/cgroup.controllers
show ./sdocker_run --memory-test --memory-limit 10M --memory-swappiness 0 rootfs
printf '$ echo $?\n%s\n' "$st"
show ls -A /sys/fs/cgroup/user.slice/user-1500.slice/user@1500.service/sdocker
EOS
(
    echo "$BASHPID" >"$top/app.slice/shell/cgroup.procs"
    exec setpriv --reuid=1500 --regid=1500 --clear-groups env -i PATH=/usr/bin:/bin HOME=/home/student \
        USER=student XDG_RUNTIME_DIR=/home/student/run TERM=dumb bash /home/student/lab 2>&1
)
