#!/usr/bin/env python3
# tests/image/oci.py COMMAND ...: make and spoil OCI image layouts for
# tests/image.bats, offline.  Each command works on a layout directory with
# one image (what umoci and skopeo write) and rewrites the manifest and
# index.json as needed, so that only the spoiled part is wrong.
#
#   docker25 LAYOUT OUT.tar NAME:TAG   a Docker 25+ `docker save` archive of
#                                      the image: the OCI layout with its
#                                      layers uncompressed, plus manifest.json
#   layer-type LAYOUT N TYPE           set layer N's mediaType (0 = bottom)
#   remove-blob LAYOUT N               delete layer N's blob
#   corrupt-blob LAYOUT N              flip one byte of layer N's blob (its
#                                      size stays)
#   layer-path LAYOUT N                print the path of layer N's blob
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(layout, digest), "wb") as f:
        f.write(data)
    return digest


def load(layout):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    desc = index["manifests"][0]
    with open(blob(layout, desc["digest"]), "rb") as f:
        manifest = json.load(f)
    return index, desc, manifest


def save(layout, index, desc, manifest):
    data = json.dumps(manifest, separators=(",", ":")).encode()
    desc["digest"] = put_blob(layout, data)
    desc["size"] = len(data)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f, separators=(",", ":"))


def docker25(layout, out, ref):
    index, desc, manifest = load(layout)
    with open(blob(layout, manifest["config"]["digest"]), "rb") as f:
        config = f.read()
    members = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    layers = []
    for layer in manifest["layers"]:
        with open(blob(layout, layer["digest"]), "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        members["blobs/sha256/" + digest[7:]] = data
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": digest, "size": len(data)})
    members["blobs/sha256/" + manifest["config"]["digest"][7:]] = config
    manifest = dict(manifest, layers=layers)
    mdata = json.dumps(manifest, separators=(",", ":")).encode()
    mdigest = "sha256:" + hashlib.sha256(mdata).hexdigest()
    members["blobs/sha256/" + mdigest[7:]] = mdata
    name, tag = ref.split(":")
    members["index.json"] = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest, "size": len(mdata),
            "annotations": {"io.containerd.image.name": "docker.io/library/" + ref,
                            "org.opencontainers.image.ref.name": tag}}]}).encode()
    members["manifest.json"] = json.dumps([{
        "Config": "blobs/sha256/" + manifest["config"]["digest"][7:],
        "RepoTags": [ref],
        "Layers": ["blobs/sha256/" + l["digest"][7:] for l in layers]}]).encode()
    with tarfile.open(out, "w") as tar:
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tar.addfile(ti)
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tar.addfile(ti, io.BytesIO(data))


def main():
    cmd, layout = sys.argv[1], sys.argv[2]
    if cmd == "docker25":
        docker25(layout, sys.argv[3], sys.argv[4])
        return
    index, desc, manifest = load(layout)
    n = int(sys.argv[3])
    layer = manifest["layers"][n]
    if cmd == "layer-type":
        layer["mediaType"] = sys.argv[4]
        save(layout, index, desc, manifest)
    elif cmd == "remove-blob":
        os.unlink(blob(layout, layer["digest"]))
    elif cmd == "corrupt-blob":
        path = blob(layout, layer["digest"])
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0x55]))
    elif cmd == "layer-path":
        print(blob(layout, layer["digest"]))
    else:
        sys.exit("unknown command " + cmd)


main()
