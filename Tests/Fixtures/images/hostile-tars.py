#!/usr/bin/env python3
"""Writes hostile layer tars for the unpack tests: OUTDIR/<case>.tar, plain tar (python3 stdlib).

HOST_NAME is a unique file name: a layer that escaped its snapshot would create it on the host
(in /tmp), which the tests check it never does.

  traversal      a member named ../../<HOST_NAME>
  absolute       a member named /<HOST_NAME> (must land inside the snapshot)
  symlink-write  a symlink to / and to ../../.., then files written through both
  hardlink-out   a hard link to /etc/passwd (outside: there is no such file in the snapshot)
  replace-dir    a directory, then a symlink with the same name pointing at /tmp, then a file below it
"""
import io
import os
import sys
import tarfile

out, host_name = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def member(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1704067200
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(case, members):
    with tarfile.open(os.path.join(out, case + ".tar"), "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)


write("traversal", [member("../../" + host_name, data=b"escaped")])
write("absolute", [member("/" + host_name, data=b"inside")])
write("symlink-write", [
    member("rootlink", tarfile.SYMTYPE, link="/"),
    member("uplink", tarfile.SYMTYPE, link="../../../../.."),
    member("rootlink/tmp/" + host_name, data=b"through /"),
    member("uplink/tmp/" + host_name + "-up", data=b"through .."),
])
write("hardlink-out", [member("passwd", tarfile.LNKTYPE, link="/etc/passwd")])
write("replace-dir", [
    member("d", tarfile.DIRTYPE, mode=0o755),
    member("d", tarfile.SYMTYPE, link="/tmp"),
    member("d/" + host_name, data=b"through a swapped dir"),
])
