"""The package as installed, and the in-tree build backend that installs
it without fetching anything."""

import base64
import csv
import hashlib
import importlib.util
import io
import os
import tarfile
import tempfile
import unittest
import zipfile

import tenure

from .agent import INSTALLED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_backend():
    spec = importlib.util.spec_from_file_location("tenure_build", os.path.join(ROOT, "build_backend", "tenure_build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PackageTest(unittest.TestCase):
    @unittest.skipUnless(INSTALLED, "TENURE_INSTALLED is not set: run `go test ./e2e -run Clients`")
    def test_tests_run_the_installed_copy(self):
        self.assertTrue(os.path.abspath(tenure.__file__).startswith(os.path.abspath(INSTALLED) + os.sep), tenure.__file__)
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(tenure.__file__), "py.typed")))

    def test_version_matches_pyproject(self):
        self.assertEqual(load_backend().project()["version"], tenure.__version__)

    def test_backend_reads_pyproject_like_tomllib(self):
        try:
            import tomllib
        except ImportError:
            self.skipTest("tomllib needs Python 3.11")
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            want = {k: v for k, v in tomllib.load(f)["project"].items() if isinstance(v, str)}
        self.assertEqual(load_backend().project(), want)

    def test_wheel(self):
        backend = load_backend()
        self.assertEqual(backend.get_requires_for_build_wheel(), [])
        with tempfile.TemporaryDirectory() as d:
            name = backend.build_wheel(d)
            self.assertEqual(name, "tenure_client-%s-py3-none-any.whl" % tenure.__version__)
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = set(z.namelist())
                for module in ("__init__", "_client", "_lease", "_errors", "_duration", "_wire"):
                    self.assertIn("tenure/%s.py" % module, names)
                self.assertIn("tenure/py.typed", names)
                self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".pyc")])
                info = "tenure_client-%s.dist-info/" % tenure.__version__
                meta = z.read(info + "METADATA").decode()
                self.assertIn("Name: tenure-client\n", meta)
                self.assertIn("Version: %s\n" % tenure.__version__, meta)
                rows = list(csv.reader(io.StringIO(z.read(info + "RECORD").decode())))
                self.assertEqual({r[0] for r in rows}, names)
                for path, digest, size in rows:
                    if path == info + "RECORD":
                        self.assertEqual((digest, size), ("", ""))
                        continue
                    data = z.read(path)
                    want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    self.assertEqual(digest, "sha256=" + want, path)
                    self.assertEqual(int(size), len(data), path)

    def test_sdist_and_editable(self):
        backend = load_backend()
        with tempfile.TemporaryDirectory() as d:
            name = backend.build_sdist(d)
            top = name[: -len(".tar.gz")]
            with tarfile.open(os.path.join(d, name)) as tar:
                names = set(tar.getnames())
            for want in ("PKG-INFO", "pyproject.toml", "README.md", "build_backend/tenure_build.py",
                         "src/tenure/_lease.py", "tests/test_lease.py"):
                self.assertIn(top + "/" + want, names)
            wheel = backend.build_editable(d)
            with zipfile.ZipFile(os.path.join(d, wheel)) as z:
                self.assertEqual(z.read("tenure_client.pth").decode().strip(), os.path.join(ROOT, "src"))


if __name__ == "__main__":
    unittest.main()
