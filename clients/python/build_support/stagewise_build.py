"""A PEP 517 / PEP 660 build backend for the stagewise client, standard library only.

Why not setuptools: `pip install -e clients/python` must work on a machine without network.
With setuptools as the backend, pip either downloads it into an isolated build environment, or
(with --no-build-isolation) needs setuptools >= 64 *and* the `wheel` package installed, which
many Pythons lack. This backend needs nothing: the client is pure Python with no compiled parts,
so a wheel is a zip of `stagewise/` plus its metadata, and an editable install is one `.pth`
file pointing at this folder.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # clients/python
PACKAGE = "stagewise"


def _project():
    """The [project] table of pyproject.toml (tomllib where there is one, else the simple keys)."""
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as f:
        raw = f.read()
    try:
        import tomllib  # Python 3.11+

        return tomllib.loads(raw.decode("utf-8"))["project"]
    except ImportError:
        table = raw.decode("utf-8").split("[project]", 1)[1].split("\n[", 1)[0]
        return dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]*)"', table, re.M))


def _metadata():
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    for extra, requirements in (project.get("optional-dependencies") or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    readme = os.path.join(HERE, "README.md")
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            return "\n".join(lines) + "\n\n" + f.read()
    return "\n".join(lines) + "\n"


def _dist_info():
    project = _project()
    return f"{project['name']}-{project['version']}.dist-info", project


def _write_wheel(wheel_directory, files):
    """Writes a py3-none-any wheel holding `files` ({archive name: bytes}) and its RECORD."""
    dist_info, project = _dist_info()
    files = dict(files)
    files[f"{dist_info}/METADATA"] = _metadata().encode("utf-8")
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: stagewise_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode("utf-8")
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")

    wheel_name = f"{project['name']}-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return wheel_name


def _package_files():
    files = {}
    root = os.path.join(HERE, PACKAGE)
    for name in sorted(os.listdir(root)):
        if name.endswith(".py"):
            with open(os.path.join(root, name), "rb") as f:
                files[f"{PACKAGE}/{name}"] = f.read()
    return files


# PEP 517 / 660 hooks. No build requirements: pip installs nothing, offline or not.


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth line puts this folder on sys.path: edits to stagewise/ take effect at once.
    return _write_wheel(wheel_directory, {f"__editable__.{PACKAGE}.pth": (HERE + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    _, project = _dist_info()
    base = f"{project['name']}-{project['version']}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for entry in ("pyproject.toml", "README.md", PACKAGE, "build_support"):
            path = os.path.join(HERE, entry)
            if os.path.exists(path):
                tar.add(path, arcname=f"{base}/{entry}", filter=_no_caches)
        pkg_info = _metadata().encode("utf-8")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    return name


def _no_caches(info):
    return None if "__pycache__" in info.name else info
