"""How the ddgan package finds and checks the library (each case in a fresh interpreter)."""

import ctypes.util
import os
import shutil
import subprocess
import sys

from ddgan_env import BINDINGS, REPO, import_ddgan

ddgan = import_ddgan()
LIBRARY = ddgan.library_path


def run_import(pythonpath, library=None, code="import ddgan; print(ddgan.found_by); print(ddgan.library_path)",
               cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DDGAN_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(pythonpath)
    if library is not None:
        env["DDGAN_LIBRARY"] = str(library)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=str(cwd) if cwd else None)


def copy_package(dst):
    shutil.copytree(BINDINGS / "ddgan", dst / "ddgan", ignore=shutil.ignore_patterns("__pycache__", "_install.py"))
    return dst / "ddgan"


def test_bad_ddgan_library_is_an_import_error(tmp_path):
    missing = tmp_path / "no" / "libddgan.so.0"
    r = run_import(BINDINGS, missing)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and str(missing) in r.stderr and "DDGAN_LIBRARY" in r.stderr
    libm = ctypes.util.find_library("m")
    if libm:
        r = run_import(BINDINGS, libm)
        assert r.returncode != 0 and "ImportError" in r.stderr and "is not libddgan" in r.stderr


def test_found_through_ddgan_library(tmp_path):
    r = run_import(BINDINGS, LIBRARY, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["DDGAN_LIBRARY", str(LIBRARY)]


def test_found_in_the_install_prefix(tmp_path):
    """<prefix>/lib/python3/dist-packages/ddgan finds <prefix>/lib/libddgan.so.0, with or without the
    _install.py CMake writes."""
    for libdir, with_install in (("lib", False), ("lib64", True)):
        prefix = tmp_path / libdir / "prefix"
        (prefix / libdir).mkdir(parents=True)
        shutil.copy(LIBRARY, prefix / libdir / "libddgan.so.0")
        site = prefix / libdir / "python3" / "dist-packages"
        site.mkdir(parents=True)
        pkg = copy_package(site)
        if with_install:
            (pkg / "_install.py").write_text('LIBDIR_FROM_PACKAGE = "../../.."\n')
        r = run_import(site, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["install prefix", str(prefix / libdir / "libddgan.so.0")]


def test_found_in_the_build_tree(tmp_path):
    """Imported from a source tree without DDGAN_LIBRARY: <source>/build/lib first, else the newest
    <source>/build*/lib (a copy of the layout in tmp_path)."""
    src = tmp_path / "src"
    (src / "include" / "ddgan").mkdir(parents=True)
    shutil.copy(REPO / "include" / "ddgan" / "ddgan.h", src / "include" / "ddgan" / "ddgan.h")
    (src / "CMakeLists.txt").write_text("# source tree marker\n")
    (src / "bindings" / "python").mkdir(parents=True)
    copy_package(src / "bindings" / "python")
    for b in ("build-old", "build-new"):
        (src / b / "lib").mkdir(parents=True)
        shutil.copy(LIBRARY, src / b / "lib" / "libddgan.so.0")
    os.utime(src / "build-old" / "lib" / "libddgan.so.0", (1e9, 1e9))
    r = run_import(src / "bindings" / "python", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["build tree", str(src / "build-new" / "lib" / "libddgan.so.0")]
    (src / "build" / "lib").mkdir(parents=True)
    shutil.copy(LIBRARY, src / "build" / "lib" / "libddgan.so.0")
    r = run_import(src / "bindings" / "python", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["build tree", str(src / "build" / "lib" / "libddgan.so.0")]
    # DDGAN_LIBRARY still wins
    r = run_import(src / "bindings" / "python", LIBRARY, cwd=tmp_path)
    assert r.stdout.splitlines() == ["DDGAN_LIBRARY", str(LIBRARY)]


def test_mismatched_package_is_refused(tmp_path):
    """A struct mirror or a major version that does not match the loaded library: ImportError naming it."""
    src = (BINDINGS / "ddgan" / "_lib.py").read_text()
    cases = [
        ('("num_timesteps", ctypes.c_int), ("beta_min"', '("num_timesteps", ctypes.c_int64), ("beta_min"',
         "ddgan_schedule_config"),
        ('("lr_g", ctypes.c_float),', '("lr_g", ctypes.c_double),', "ddgan_trainer_config"),
        ("EXPECTED_MAJOR = 0", "EXPECTED_MAJOR = 7", "needs major version 7"),
    ]
    for i, (old, new, message) in enumerate(cases):
        assert old in src
        root = tmp_path / str(i)
        pkg = copy_package(root)
        (pkg / "_lib.py").write_text(src.replace(old, new, 1))
        r = run_import(root, LIBRARY)
        assert r.returncode != 0 and "ImportError" in r.stderr and message in r.stderr, r.stderr
