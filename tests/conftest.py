"""Shared fixtures of the unit tests (plain pytest; run with ``python -m pytest tests/``).

Every test runs hermetically: the ``RESTORELIB_*`` variables of the caller are removed, downloads go to a
temporary cache, and sockets may only reach loopback addresses (the downloader tests use a local server).
"""
from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest
import torch

# The tensors here are tiny: one thread is as fast as two and does not fight a training run for the cores.
torch.set_num_threads(1)

ENV_VARS = ("RESTORELIB_PROFILE", "RESTORELIB_FAST", "RESTORELIB_DEVICE", "RESTORELIB_CACHE", "RESTORELIB_DATA",
            "RESTORELIB_MAX_PIXELS")


def _is_loopback(host: object) -> bool:
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No user settings, a throw-away cache, and no network beyond 127.0.0.1."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RESTORELIB_CACHE", str(tmp_path_factory.mktemp("cache")))
    for var in ("no_proxy", "NO_PROXY"):                 # a proxy must never see the loopback requests
        monkeypatch.setenv(var, "127.0.0.1,localhost")

    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise OSError(f"tests may not resolve {host!r}: only loopback addresses are allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise OSError(f"tests may not connect to {address!r}: only loopback addresses are allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def images() -> torch.Tensor:
    """A seeded random batch (2, 3, 32, 32) in [0, 1]."""
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared folder of real benchmark images (``<repo>/../shared/data``); skip when absent."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"no shared data folder at {path}")
    return path


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Path:
    """A folder this process cannot create files in: a read-only temporary folder, or, for root (which permission
    bits do not stop), a folder of a read-only kernel file system such as /sys; skip when there is none."""
    if os.geteuid() != 0:
        d = tmp_path / "read-only"
        d.mkdir()
        d.chmod(0o500)
        return d
    for d in (Path("/sys"), Path("/proc/self")):
        probe = d / "restorelib-probe"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:
            return d
        os.unlink(probe)
    pytest.skip("no unwritable folder on this machine")
