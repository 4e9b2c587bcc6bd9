"""The in-tree build backend (PEP 517, PEP 660) of the tenure client.

Why not setuptools: pip builds a package in an isolated environment and
downloads the backend named in pyproject.toml into it. A machine that
reaches no Python package index (or a fresh one without a wheel cache)
cannot then install even a pure-Python package. This backend needs
nothing but the standard library, so ``pip install ./clients/python``
works offline.

It builds one pure-Python wheel from src/tenure, a source archive, and an
editable wheel (a .pth file pointing at src/). The metadata comes from the
[project] table of pyproject.toml, read by the small reader below (it
accepts only the plain ``key = "string"`` lines that table uses).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = "tenure"
# Fixed timestamps keep builds byte-for-byte repeatable.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def project():
    """Returns the [project] string fields of pyproject.toml as a dict."""
    fields, section = {}, None
    with open(os.path.join(_ROOT, "pyproject.toml"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            header = re.fullmatch(r"\[([A-Za-z0-9_.-]+)\]", line)
            if header:
                section = header.group(1)
                continue
            if section != "project":
                continue
            m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*"([^"\\]*)"', line)
            if m:
                fields[m.group(1)] = m.group(2)
            elif not re.fullmatch(r"[A-Za-z0-9_-]+\s*=\s*\[\]", line):
                raise ValueError("pyproject.toml line %d: the build backend reads only key = \"string\" "
                                 "and key = [] in [project]: %s" % (lineno, line))
    for key in ("name", "version", "description", "readme", "requires-python"):
        if key not in fields:
            raise ValueError("pyproject.toml: [project] has no %s" % key)
    return fields


def _dist_name(fields):
    return re.sub(r"[-_.]+", "_", fields["name"]).lower() + "-" + fields["version"]


def _metadata(fields):
    with open(os.path.join(_ROOT, fields["readme"]), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\nVersion: %s\nSummary: %s\nRequires-Python: %s\n"
        "Description-Content-Type: text/markdown\n\n%s"
        % (fields["name"], fields["version"], fields["description"], fields["requires-python"], readme)
    )


def _sources():
    """Yields (path in the wheel, path on disk) for every file of the package."""
    top = os.path.join(_ROOT, "src", _PACKAGE)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            disk = os.path.join(dirpath, name)
            yield os.path.relpath(disk, os.path.join(_ROOT, "src")).replace(os.sep, "/"), disk


def _write_wheel(wheel_directory, files):
    """Writes a py3-none-any wheel of files ({path: bytes}) plus its
    dist-info, and returns its file name."""
    fields = project()
    dist = _dist_name(fields)
    info = dist + ".dist-info"
    files = dict(files)
    files[info + "/METADATA"] = _metadata(fields).encode()
    files[info + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: tenure_build\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n").encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(info + "/RECORD,,")
    files[info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    name = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, _ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, data)
    return name


def get_requires_for_build_wheel(config_settings=None):
    """PEP 517: nothing to install before building."""
    return []


def get_requires_for_build_sdist(config_settings=None):
    """PEP 517: nothing to install before building."""
    return []


def get_requires_for_build_editable(config_settings=None):
    """PEP 660: nothing to install before building."""
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 517: builds the wheel into wheel_directory."""
    files = {}
    for path, disk in _sources():
        with open(disk, "rb") as f:
            files[path] = f.read()
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: builds a wheel whose .pth file puts src/ on sys.path."""
    pth = _dist_name(project()).split("-")[0] + ".pth"
    return _write_wheel(wheel_directory, {pth: (os.path.join(_ROOT, "src") + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    """PEP 517: builds NAME-VERSION.tar.gz of the sources, the tests and
    this backend."""
    fields = project()
    dist = _dist_name(fields)
    members = ["pyproject.toml", fields["readme"]]
    for sub in ("build_backend", "src", "tests"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(_ROOT, sub)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            members += [os.path.relpath(os.path.join(dirpath, n), _ROOT) for n in sorted(filenames)
                        if not n.endswith((".pyc", ".pyo"))]
    name = dist + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        pkg_info = _metadata(fields).encode()
        entry = tarfile.TarInfo(dist + "/PKG-INFO")
        entry.size, entry.mode = len(pkg_info), 0o644
        tar.addfile(entry, io.BytesIO(pkg_info))
        for rel in members:
            with open(os.path.join(_ROOT, rel), "rb") as f:
                data = f.read()
            entry = tarfile.TarInfo(dist + "/" + rel.replace(os.sep, "/"))
            entry.size, entry.mode = len(data), 0o644
            tar.addfile(entry, io.BytesIO(data))
    return name
