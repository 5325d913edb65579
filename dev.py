#!/usr/bin/env python3
"""Set up and run AlphaSMS from a fresh clone; needs only Python >= 3.11 (and git to clone).

    python3 dev.py start [ARGS…]   create .venv, install AlphaSMS, run `alphasms run ARGS…`
    python3 dev.py test            install the test tools too, then run pytest, ruff and mypy

The test command runs the suite on SQLite and, when ALPHASMS_TEST_POSTGRES_URL is set (CI sets it), a
second time on that PostgreSQL server. The mock provider server (Stoplight Prism) is installed from npm
into tests/node; Node.js and npm come from the system, and so does Kannel, the self-hosted SMS gateway the
Kannel gateway is tested against, and Chromium, the browser the staff web app's tests drive (on
Debian/Ubuntu as root, installed automatically: apt-get install nodejs npm kannel kannel-extras chromium
chromium-driver).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")  # Debian's kannel-extras: the fake SMSC Kannel tests use
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium: Playwright drives it in the web app's tests


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    say(" ".join(str(a) for a in args))
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check).returncode


def ensure_venv() -> None:
    """Create .venv; where Debian's python3 lacks ensurepip, bootstrap pip from PyPI instead."""
    if PY.exists():
        return
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError):
        say("ensurepip is missing (Debian without python3-venv): bootstrapping pip from PyPI")
        shutil.rmtree(VENV, ignore_errors=True)
        venv.EnvBuilder(with_pip=False).create(VENV)
        _bootstrap_pip()


def _bootstrap_pip() -> None:
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as answer:
        release = json.load(answer)
    wheel = next(u for u in release["urls"] if u["filename"].endswith(".whl"))
    target = Path(tempfile.mkdtemp()) / wheel["filename"]
    urllib.request.urlretrieve(wheel["url"], target)
    run(PY, target / "pip", "install", "--quiet", target)


def install(extras: str = "") -> None:
    """Install AlphaSMS (editable) and its dependencies into .venv; quiet when nothing changed."""
    ensure_venv()
    stamp = VENV / f".installed{extras}"
    project = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= project.stat().st_mtime:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f".{extras}")
    stamp.touch()


def ensure_node_tools() -> None:
    """Install what the tests run against: Node.js/npm and the pinned Prism mock server (npm ci),
    Kannel (bearerbox, smsbox; fakesmsc is in kannel-extras) for the Kannel gateway's tests, and Debian's
    Chromium for the staff web app's browser tests (Playwright drives /usr/bin/chromium; never a
    browser downloaded by `playwright install`)."""
    missing = [] if shutil.which("npm") else ["nodejs", "npm"]
    sbin = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    if shutil.which("bearerbox", path=sbin) is None or not FAKESMSC.exists():
        missing += ["kannel", "kannel-extras"]
    if not CHROMIUM.exists():
        missing += ["chromium", "chromium-driver"]
    if missing:
        debian = Path("/etc/debian_version").exists() and shutil.which("apt-get")
        if not (hasattr(os, "geteuid") and os.geteuid() == 0 and debian):
            sys.exit(
                "The tests need Node.js/npm (provider mock server), Kannel (self-hosted SMS gateway) and "
                f"Chromium (browser tests); install them as root: apt-get install {' '.join(missing)}"
            )
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-qq", env=apt_env)
        run("apt-get", "install", "-y", "-qq", *missing, env=apt_env)
    node_dir = ROOT / "tests" / "node"
    lock = node_dir / "package-lock.json"
    marker = node_dir / "node_modules" / ".package-lock.json"
    if lock.exists() and (not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime):
        run("npm", "ci", "--prefix", node_dir, "--no-audit", "--no-fund", "--loglevel=error")


def test(args: list[str]) -> int:
    install("[test]")
    ensure_node_tools()
    env = {**os.environ, "ALPHASMS_DATA_DIR": tempfile.mkdtemp(prefix="alphasms-test-")}
    env.pop("DATABASE_URL", None)
    failed = run(PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, env=env, check=False)
    postgres = os.environ.get("ALPHASMS_TEST_POSTGRES_URL", "")
    if postgres:
        say("the same suite on PostgreSQL")
        failed |= run(
            PY,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
            env={**env, "DATABASE_URL": postgres},
            check=False,
        )
    else:
        say("PostgreSQL leg not run: set ALPHASMS_TEST_POSTGRES_URL=postgres://user@host/db to run it")
    failed |= run(BIN / "ruff", "check", ".", check=False)
    failed |= run(BIN / "ruff", "format", "--check", ".", check=False)
    failed |= run(BIN / "mypy", "alphasms", check=False)
    say("all checks passed" if not failed else "SOME CHECKS FAILED")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py is the one file an older python3 may run
        print(f"AlphaSMS needs Python >= 3.11; this is {sys.version.split()[0]}")
        return 2
    if not argv or argv[0] not in {"start", "test", "setup"}:
        print(__doc__)
        return 2
    if argv[0] == "test":
        return test(argv[1:])
    install()
    if argv[0] == "setup":
        return 0
    return subprocess.run([str(BIN / "alphasms"), "run", *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
