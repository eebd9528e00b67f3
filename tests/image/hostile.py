#!/usr/bin/env python3
# tests/image/hostile.py KIND OUT [MARKER]: write a hostile tar archive, one
# kind per call, for tests/image.bats.  Each tries a way out of the layer's
# directory that a naive extractor (or a tar run as root) would take; the
# bats file checks that sdocker_image refuses it in one line or keeps
# everything inside, and that MARKER (a directory of the test's own) and
# /etc/passwd are untouched.  Python's tarfile writes what we ask for,
# names with ".." included, which GNU tar would not.
import io
import sys
import tarfile


def reg(tar, name, data=b"pwned\n", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    tar.addfile(ti, io.BytesIO(data))


def special(tar, name, kind, linkname="", major=0, minor=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    ti.devmajor = major
    ti.devminor = minor
    ti.mode = mode
    tar.addfile(ti)


def main():
    kind, out = sys.argv[1], sys.argv[2]
    marker = sys.argv[3] if len(sys.argv) > 3 else "/tmp/sdocker-marker"
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        if kind == "dotdot":
            reg(tar, "../x")
        elif kind == "dotdot-deep":
            reg(tar, "a/b/../../../x")
        elif kind == "absolute":
            reg(tar, marker + "/abs")
        elif kind == "symlink-dir":
            # A symlink to the marker, then a file through it.
            special(tar, "l", tarfile.SYMTYPE, marker)
            reg(tar, "l/pwned")
        elif kind == "symlink-root":
            # A symlink to /, then /etc/passwd through it.
            special(tar, "root", tarfile.SYMTYPE, "/")
            reg(tar, "root/etc/passwd", b"pwned::0:0::/:/bin/sh\n")
        elif kind == "symlink-dotdot":
            special(tar, "up", tarfile.SYMTYPE, "../../../../../../../..")
            reg(tar, "up" + marker + "/pwned")
        elif kind == "symlink-then-file":
            # The file replaces the symlink; it must not write through it.
            special(tar, "passwd", tarfile.SYMTYPE, "/etc/passwd")
            reg(tar, "passwd", b"pwned::0:0::/:/bin/sh\n")
            # The same a directory down.
            special(tar, "d/passwd", tarfile.SYMTYPE, "/etc/passwd")
            reg(tar, "d/passwd", b"pwned::0:0::/:/bin/sh\n")
        elif kind == "dir-then-symlink":
            # A directory, replaced by a symlink out, then a file through
            # it: the lookup must follow what is there now.
            special(tar, "f", tarfile.DIRTYPE, mode=0o755)
            special(tar, "f", tarfile.SYMTYPE, marker)
            reg(tar, "f/pwned")
        elif kind == "hardlink-abs":
            special(tar, "h", tarfile.LNKTYPE, "/etc/passwd")
        elif kind == "hardlink-dotdot":
            special(tar, "h", tarfile.LNKTYPE, "../../x")
        elif kind == "hardlink-via-symlink":
            # A hard link whose target's directory is a symlink out.
            special(tar, "etc", tarfile.SYMTYPE, "/etc")
            special(tar, "h", tarfile.LNKTYPE, "etc/passwd")
        elif kind == "device":
            special(tar, "null", tarfile.CHRTYPE, major=1, minor=3, mode=0o666)
            special(tar, "disk", tarfile.BLKTYPE, major=7, minor=0, mode=0o600)
            special(tar, "fifo", tarfile.FIFOTYPE)
        elif kind == "whiteout-device":
            special(tar, "w", tarfile.CHRTYPE, major=0, minor=0)
        elif kind == "setuid":
            reg(tar, "suid", b"#!/bin/sh\n", mode=0o4755)
        else:
            sys.exit("unknown kind " + kind)


main()
