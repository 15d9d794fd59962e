#!/usr/bin/env python3
"""Build the test images as OCI image layouts, byte-for-byte reproducibly.

Usage: build-images.py OUTDIR [--big] [NAME ...]

Writes OUTDIR/NAME/{oci-layout,index.json,blobs/sha256/*} for each image (all of
them unless NAMEs are given; `big` only with --big) and OUTDIR/digests.json, which
maps each image to its manifest/config/layer digests so tests can predict the
image id (= config digest) of what they pull.

The rootfs comes from Debian's busybox-static (/bin/busybox). Everything else is
fixed: mtimes, uid/gid, entry order, gzip header, JSON key order, so two runs on the
same Debian release give identical digests. The digests do change when Debian
updates busybox-static, zlib or zstd, which is why tests read digests.json instead
of hard-coding them.

Needs python3 (stdlib only) and, for the `zstd` image, Debian's `zstd` CLI.
"""
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

BUSYBOX = "/bin/busybox"  # Debian package busybox-static: a static binary needs no libs in the image
MTIME = 1704067200  # 2024-01-01T00:00:00Z, used for every tar entry
CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
APPLETS = ["cat", "echo", "id", "ls", "sh", "sleep", "true"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_GZIP = OCI_TAR + "+gzip"
OCI_ZSTD = OCI_TAR + "+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


# ---------------------------------------------------------------- tar layers

def entry(name, kind="file", data=b"", mode=None, uid=0, gid=0, link="", dev=(0, 0), pax=None):
    """One tar member as a (TarInfo, bytes) pair with every varying field pinned."""
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""  # names would make the tar depend on the build host's passwd
    if kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755 if mode is None else mode
    elif kind == "symlink":
        ti.type, ti.mode, ti.linkname = tarfile.SYMTYPE, 0o777, link
    elif kind == "hardlink":
        ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644 if mode is None else mode, link
    elif kind == "chardev":
        ti.type, ti.mode = tarfile.CHRTYPE, 0o666 if mode is None else mode
        ti.devmajor, ti.devminor = dev
    else:
        ti.type, ti.mode, ti.size = tarfile.REGTYPE, 0o644 if mode is None else mode, len(data)
    if pax:
        ti.pax_headers = dict(pax)
    return ti, data


def make_tar(entries):
    """Uncompressed tar bytes; members sorted by path so parents precede children."""
    buf = io.BytesIO()
    # PAX so that xattrs (SCHILY.xattr.*) can be expressed; members without extra
    # headers are plain ustar blocks, as in layers built by other tools.
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in sorted(entries, key=lambda e: e[0].name):
            tf.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return buf.getvalue()


def gzip_bytes(raw, level=6):
    # mtime=0 and no file name keep the gzip header constant.
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=level) as gz:
        gz.write(raw)
    return buf.getvalue()


def zstd_bytes(raw):
    # Debian package `zstd`. Single-threaded with a fixed level so the frame is reproducible.
    if shutil.which("zstd") is None:
        sys.exit("build-images: the `zstd` CLI is missing (apt-get install zstd)")
    return subprocess.run(["zstd", "-q", "-c", "-3", "--single-thread"], input=raw,
                          stdout=subprocess.PIPE, check=True).stdout


def busybox_entries():
    with open(BUSYBOX, "rb") as f:
        data = f.read()
    return [entry("bin/", "dir"), entry("bin/busybox", data=data, mode=0o755)] + [
        entry("bin/" + a, "symlink", link="busybox") for a in APPLETS]


def layered_entries():
    """Layer 2 of `layered`: each special tar member type the unpacker must handle."""
    return [
        entry("data/", "dir"),
        entry("data/a", data=b"file a\n"),
        entry("data/b", data=b"file b, deleted by layer 3\n"),
        entry("data/dir/", "dir"),
        entry("data/dir/x", data=b"x, hidden by layer 3's opaque dir\n"),
        entry("data/hard", "hardlink", link="data/a"),           # same inode as /data/a
        entry("data/link", "symlink", link="a"),                 # relative symlink
        entry("data/abslink", "symlink", link="/bin/busybox"),   # absolute: resolve inside rootfs
        entry("data/secret", data=b"only for uid 1000\n", mode=0o600, uid=1000, gid=1000),
        entry("data/xattr", data=b"has user.test=hello\n", pax={"SCHILY.xattr.user.test": "hello"}),
        entry("dev/", "dir"),
        entry("dev/null-copy", "chardev", dev=(1, 3)),
    ]


def whiteout_entries():
    """Layer 3 of `layered`: deletes /data/b, makes /data/dir opaque, adds /data/dir/y."""
    return [
        entry("data/", "dir"),
        entry("data/.wh.b"),
        entry("data/dir/", "dir"),
        entry("data/dir/.wh..wh..opq"),
        entry("data/dir/y", data=b"y, the only file left in /data/dir\n"),
    ]


def passwd_entries():
    """/etc/passwd and /etc/group so a named `User` resolves inside the image."""
    passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
    group = b"root:x:0:\nnogroup:x:65534:\n"
    return [entry("etc/", "dir"), entry("etc/passwd", data=passwd), entry("etc/group", data=group)]


def big_entries(layer, files=4, size=4 << 20):
    """Seeded pseudo-random files: incompressible, but the same bytes every run."""
    rng = random.Random(f"skiff-big-{layer}")
    out = [entry("big/", "dir")]
    for i in range(files):
        out.append(entry(f"big/layer{layer}-file{i}", data=rng.randbytes(size)))
    return out


# ---------------------------------------------------------------- OCI layout

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    # Sorted keys, no spaces: the manifest bytes (and so its digest) never depend on dict order.
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, path):
        shutil.rmtree(path, ignore_errors=True)  # no stale blobs from an earlier build
        os.makedirs(os.path.join(path, "blobs", "sha256"))
        self.path = path
        with open(os.path.join(path, "oci-layout"), "wb") as f:
            f.write(canonical({"imageLayoutVersion": "1.0.0"}))

    def blob(self, data, media_type, **extra):
        digest = sha(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return dict(mediaType=media_type, digest=digest, size=len(data), **extra)

    def tag(self, desc, ref="latest"):
        d = dict(desc, annotations={"org.opencontainers.image.ref.name": ref})
        with open(os.path.join(self.path, "index.json"), "wb") as f:
            f.write(canonical({"schemaVersion": 2, "manifests": [d]}))


def layer(raw, compression):
    """(blob bytes, media type) of a layer; the diff id is always sha256 of `raw`."""
    if compression == "gzip":
        return gzip_bytes(raw), OCI_GZIP
    if compression == "gzip-fast":
        return gzip_bytes(raw, level=1), OCI_GZIP
    if compression == "zstd":
        return zstd_bytes(raw), OCI_ZSTD
    return raw, OCI_TAR


def write_image(lay, name, layers, config_extra=None, arch="amd64", variant=None, docker=False):
    """Write layer, config and manifest blobs; return (manifest descriptor, summary).

    `layers` is a list of (uncompressed tar, compression). Each config carries a
    `skiff.fixture` label so no two fixtures share an image id by accident.
    """
    descs, diff_ids, history = [], [], []
    for raw, comp in layers:
        data, mt = layer(raw, comp)
        if docker:
            mt = DOCKER_GZIP
        descs.append(lay.blob(data, mt))
        diff_ids.append(sha(raw))
        history.append({"created": CREATED, "created_by": f"build-images.py {name} layer {len(history) + 1}"})
    conf = {"Cmd": ["/bin/sh"], "Env": [PATH_ENV], "Labels": {"skiff.fixture": name}}
    conf.update(config_extra or {})
    config = {"architecture": arch, "os": "linux", "created": CREATED, "config": conf,
              "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
    if variant:
        config["variant"] = variant
    cdesc = lay.blob(canonical(config), DOCKER_CONFIG if docker else OCI_CONFIG)
    mtype = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest = {"schemaVersion": 2, "mediaType": mtype, "config": cdesc, "layers": descs}
    platform = dict(architecture=arch, os="linux", **({"variant": variant} if variant else {}))
    mdesc = lay.blob(canonical(manifest), mtype, platform=platform)
    summary = {"mediaType": mtype, "manifest": mdesc["digest"], "config": cdesc["digest"],
               "layers": [d["digest"] for d in descs], "layerMediaTypes": [d["mediaType"] for d in descs],
               "diffIDs": diff_ids, "platform": platform}
    return mdesc, summary


def single(out, name, layers, **kw):
    lay = Layout(os.path.join(out, name))
    mdesc, summary = write_image(lay, name, layers, **kw)
    mdesc.pop("platform")  # a layout's index.json names the image, not a platform
    lay.tag(mdesc)
    return summary


def build(out, name):
    bb = make_tar(busybox_entries())
    if name == "busybox":
        return single(out, name, [(bb, "gzip")])
    if name == "layered":
        # Layer 1 is byte-identical to busybox's layer (shared blob); layer 3 is a plain tar.
        return single(out, name, [(bb, "gzip"), (make_tar(layered_entries()), "gzip"),
                                  (make_tar(whiteout_entries()), "none")])
    if name == "withuser":
        return single(out, name, [(bb, "gzip")], config_extra={"User": "1000:1000"})
    if name == "withuser-named":
        return single(out, name, [(bb, "gzip"), (make_tar(passwd_entries()), "gzip")],
                      config_extra={"User": "nobody"})
    if name == "pause":
        # A pod sandbox's image for runtimes that need one (containerd): it only has to stay up.
        return single(out, name, [(bb, "gzip")], config_extra={"Cmd": None, "Entrypoint": ["/bin/sleep", "2147483647"]})
    if name == "zstd":
        return single(out, name, [(bb, "zstd")])
    if name == "docker-schema2":
        return single(out, name, [(bb, "gzip")], docker=True)
    if name == "big":
        return single(out, name, [(make_tar(big_entries(i)), "gzip-fast") for i in range(1, 5)])
    if name == "multiarch":
        # Same busybox bytes for every platform; only the config's architecture differs,
        # so the non-amd64 entries are selectable but not runnable.
        lay = Layout(os.path.join(out, name))
        descs, per_platform = [], {}
        for arch, variant in [("amd64", None), ("arm64", None), ("arm", "v7")]:
            mdesc, summary = write_image(lay, name, [(bb, "gzip")], arch=arch, variant=variant)
            descs.append(mdesc)
            per_platform["linux/" + arch + ("/" + variant if variant else "")] = summary
        idesc = lay.blob(canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}), OCI_INDEX)
        lay.tag(idesc)
        return {"mediaType": OCI_INDEX, "index": idesc["digest"], "manifests": per_platform}
    sys.exit(f"build-images: unknown image {name}")


IMAGES = ["busybox", "layered", "withuser", "withuser-named", "multiarch", "zstd", "docker-schema2"]


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if not args or any(a not in ("--big",) for a in argv if a.startswith("--")):
        sys.exit(__doc__.strip().splitlines()[2])
    out, names = args[0], args[1:] or IMAGES + (["big"] if "--big" in argv else [])
    os.makedirs(out, exist_ok=True)
    digests_path = os.path.join(out, "digests.json")
    digests = {}
    if os.path.exists(digests_path):  # keep entries of images not rebuilt this time
        with open(digests_path) as f:
            digests = json.load(f)
    for name in names:
        digests[name] = build(out, name)
        d = digests[name]
        print(f"{name}: {d.get('manifest') or d['index']}")
    with open(digests_path, "w") as f:
        json.dump(digests, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
