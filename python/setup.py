"""
setup.py — installs the `latefuse` Python package (pure Python over ctypes).

Why setup.py and no pyproject.toml: pip then builds with the setuptools
already installed (Debian's python3-setuptools and python3-wheel) instead of
downloading a build environment, so `pip install ./python` and `make python`
need no network.

At build time the shared library is copied into the package
(latefuse/_lib/liblatefuse.so) from, first match wins: $LATEFUSE_LIB (which
must then be a file: pip runs this file from the package folder, so give an
absolute path), $LF_BUILD/liblatefuse.so, ../build/liblatefuse.so.  Without
one the package still installs and finds the library through LATEFUSE_LIB at
import time.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


def _find_library():
    cands = []
    if os.environ.get("LATEFUSE_LIB"):
        lib = os.environ["LATEFUSE_LIB"]
        if not os.path.isfile(lib):
            # asked for, so not replaced by another build's library, nor
            # left out (the package would install and then fail to import);
            # pip runs this file from the package folder, not the caller's
            raise SystemExit("latefuse: LATEFUSE_LIB is set to '%s', which is not a file (seen from %s); give "
                             "the absolute path of liblatefuse.so" % (lib, os.getcwd()))
        cands.append(lib)
    if os.environ.get("LF_BUILD"):
        b = os.environ["LF_BUILD"]
        cands.append(os.path.join(b if os.path.isabs(b) else os.path.join(HERE, "..", b), "liblatefuse.so"))
    cands.append(os.path.join(HERE, "..", "build", "liblatefuse.so"))
    for c in cands:
        if os.path.isfile(c):
            return os.path.normpath(c)
    return None


class BuildPyWithLib(build_py):
    def run(self):
        super().run()
        src = _find_library()
        dst_dir = os.path.join(self.build_lib, "latefuse", "_lib")
        if src is None:
            print("latefuse: liblatefuse.so not found (run `make` first); the package will "
                  "look for it through LATEFUSE_LIB at import time")
            return
        os.makedirs(dst_dir, exist_ok=True)
        shutil.copyfile(src, os.path.join(dst_dir, "liblatefuse.so"))
        print("latefuse: bundled %s" % src)


class BinaryDistribution(Distribution):
    """The wheel holds a shared library: mark it platform-specific."""

    def has_ext_modules(self):
        return True


# Build outputs (setuptools' build/ and the egg-info) stay under python/build/,
# which git ignores.
EGG_BASE = os.path.join(HERE, "build")
os.makedirs(EGG_BASE, exist_ok=True)

setup(
    name="latefuse",
    version="0.1.0",
    description="Multimodal late fusion and a Keras-style network engine over liblatefuse (ctypes)",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=["latefuse", "latefuse.preprocessing"],
    package_data={"latefuse": ["py.typed"]},
    python_requires=">=3.8",
    install_requires=["numpy"],
    cmdclass={"build_py": BuildPyWithLib},
    distclass=BinaryDistribution,
    zip_safe=False,
    options={"egg_info": {"egg_base": EGG_BASE}},
)
