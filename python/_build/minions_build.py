"""A PEP 517 build backend for minions_c with the standard library alone:
the wheel is a zip of the package plus its .dist-info (PEP 427), so pip can
build and install it offline. Written here because setuptools would have to
be downloaded into pip's isolated build environment."""
import base64
import hashlib
import os
import zipfile

NAME, DIST, VERSION = "minions_c", "minions_c", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "py3-none-any"


def _metadata():
    return ("Metadata-Version: 2.1\nName: minions-c\nVersion: %s\n"
            "Summary: The Minions protocols on libminions, with the Python reference's API\n"
            "Requires-Python: >=3.8\n" % VERSION)


def _files():
    root = os.path.join(HERE, NAME)
    for d, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(".py"):
                full = os.path.join(d, n)
                yield full, os.path.relpath(full, HERE).replace(os.sep, "/")


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d\n" % (arcname, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = "%s-%s.dist-info" % (DIST, VERSION)
    wheel_name = "%s-%s-%s.whl" % (DIST, VERSION, TAG)
    record = ""
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for full, arc in _files():
            with open(full, "rb") as f:
                data = f.read()
            z.writestr(arc, data)
            record += _record_line(arc, data)
        extra = {info + "/METADATA": _metadata(),
                 info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: minions_build\n"
                                  "Root-Is-Purelib: true\nTag: %s\n" % TAG,
                 info + "/top_level.txt": NAME + "\n"}
        for arc, text in extra.items():
            z.writestr(arc, text)
            record += _record_line(arc, text.encode())
        record += info + "/RECORD,,\n"
        z.writestr(info + "/RECORD", record)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    base = "minions_c-%s" % VERSION
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ("pyproject.toml", "_build/minions_build.py"):
            t.add(os.path.join(HERE, rel), arcname=base + "/" + rel)
        for full, arc in _files():
            t.add(full, arcname=base + "/" + arc)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        import io
        t.addfile(info, io.BytesIO(data))
    return name
