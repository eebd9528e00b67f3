#!/usr/bin/env bash
# tests/image/mkimages.sh ROOTFS OUT: the test images of tests/image.bats,
# made offline from the bundled rootfs with Debian's umoci and skopeo
# (apt-get install umoci skopeo), into the directory OUT:
#
#   oci/            an OCI layout, image "demo", three layers:
#                     1. ROOTFS, plus /srv/data/{a,b} and /etc/motd
#                     2. deletes /etc/motd (umoci writes etc/.wh.motd)
#                     3. /srv/data made opaque, holding only c (a layer of
#                        our own: srv/data/.wh..wh..opq, added raw)
#                   with Env, Entrypoint, Cmd, WorkingDir and User set
#   oci.tar         the same layout in a tar
#   oci-zstd/       the same image with tar+zstd layers
#   docker.tar      `docker save` classic format (skopeo docker-archive)
#   docker.tar.gz   the same, gzip-compressed
#   docker25.tar    Docker 25+'s format: OCI layout plus manifest.json
#   rootfs.tar      ROOTFS as a root filesystem tarball, and .gz .xz .zst
#   tiny.tar        a root filesystem of one file, for a store that is not
#                   empty before a test's refusal
#
# Takes a few seconds; the bats file makes them once per run.
set -euo pipefail

rootfs=$(cd -- "$1" && pwd)
out=$2
here=$(cd -- "$(dirname -- "$0")" && pwd)
mkdir -p "$out"
cd "$out"

umoci init --layout oci
umoci new --image oci:demo

# Each repack diffs against what was unpacked, so unpack again each time.
umoci unpack --image oci:demo bundle >/dev/null
cp -a "$rootfs"/. bundle/rootfs/
mkdir -p bundle/rootfs/srv/data
echo a >bundle/rootfs/srv/data/a
echo b >bundle/rootfs/srv/data/b
echo 'welcome to the demo image' >bundle/rootfs/etc/motd
umoci repack --image oci:demo bundle
rm -rf bundle

umoci unpack --image oci:demo bundle >/dev/null
rm bundle/rootfs/etc/motd
umoci repack --image oci:demo bundle
rm -rf bundle

mkdir -p layer3/srv/data
echo c >layer3/srv/data/c
: >layer3/srv/data/.wh..wh..opq
tar -C layer3 --owner=0 --group=0 -cf layer3.tar srv
umoci raw add-layer --image oci:demo layer3.tar
rm -rf layer3 layer3.tar

umoci config --image oci:demo --config.env PATH=/usr/local/bin:/usr/bin:/bin \
    --config.env GREETING=hello --config.entrypoint /bin/sh --config.cmd -c \
    --config.cmd 'cat /srv/data/*' --config.workingdir /srv --config.user 0:0
umoci gc --layout oci

tar -C oci -cf oci.tar .
skopeo copy --quiet --dest-compress-format zstd oci:oci:demo oci:oci-zstd:demo
skopeo copy --quiet oci:oci:demo docker-archive:docker.tar:demo:3
gzip -1 -c docker.tar >docker.tar.gz
python3 "$here/oci.py" docker25 oci docker25.tar demo:3

tar -C "$rootfs" -cf rootfs.tar .
gzip -1 -c rootfs.tar >rootfs.tar.gz
xz -0 -c -T1 rootfs.tar >rootfs.tar.xz
zstd -q -c rootfs.tar >rootfs.tar.zst

mkdir tiny
echo tiny >tiny/file
tar -C tiny --owner=0 --group=0 -cf tiny.tar .
rm -rf tiny
