"""restorelib.core.data: embedded photos, image I/O, the registry, named sets and the checked downloader.

The downloader is tested against a loopback HTTP server; no test contacts any other address (conftest.py
refuses non-loopback connections).
"""
from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from restorelib.core import data
from restorelib.core.data import (
    EMBEDDED, EMBEDDED_TEST, EMBEDDED_TRAIN, DownloadError, RemoteFile, dataset_names, download, embedded,
    load_folder, load_set, read_image, registry, save_image, set_files, sha256_file, to_rgb, to_tensor, to_uint8)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def png_bytes(seed: int, size: tuple[int, int] = (12, 16), mode: str = "RGB") -> bytes:
    """A small random PNG image, encoded in memory."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (*size, 3) if mode == "RGB" else size, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: Path, seed: int, size: tuple[int, int] = (12, 16), mode: str = "RGB") -> torch.Tensor:
    path.write_bytes(png_bytes(seed, size, mode))
    return read_image(path)


# ----------------------------------------------------------------------------- embedded photos
@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded(name):
    t = embedded(name)
    assert t.dtype == torch.float32 and t.dim() == 3 and t.shape[0] in (1, 3)
    assert min(t.shape[1:]) >= 256
    assert 0 <= t.min() and t.max() <= 1 and t.std() > 0.01
    t.fill_(0)                                         # callers get a copy: the cache is not changed
    assert embedded(name).max() > 0


def test_embedded_unknown():
    with pytest.raises(ValueError, match="name must be one of"):
        embedded("lena")


def test_embedded_split():
    assert not set(EMBEDDED_TRAIN) & set(EMBEDDED_TEST)
    assert set(EMBEDDED_TRAIN) | set(EMBEDDED_TEST) == set(EMBEDDED)
    assert len(EMBEDDED_TRAIN) + len(EMBEDDED_TEST) == len(EMBEDDED) == len(set(EMBEDDED))


# ----------------------------------------------------------------------------- arrays and tensors
def test_to_tensor_uint8_rgb():
    a = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4
    t = to_tensor(a)
    assert t.shape == (3, 4, 5) and t.dtype == torch.float32
    assert torch.allclose(t, torch.from_numpy(a).permute(2, 0, 1).float() / 255)


def test_to_tensor_uint16_gray():
    a = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    t = to_tensor(a)
    assert t.shape == (1, 2, 2)
    assert torch.allclose(t[0], torch.tensor([[0, 1000], [40000, 65535]]) / 65535.0)


def test_to_tensor_float():
    a = np.random.default_rng(0).random((6, 7, 3))
    t = to_tensor(a)
    assert t.dtype == torch.float32 and t.shape == (3, 6, 7)
    assert torch.allclose(t, torch.from_numpy(a).permute(2, 0, 1).float())


def test_to_tensor_drops_alpha():
    rgba = np.random.default_rng(1).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    assert torch.equal(to_tensor(rgba), to_tensor(rgba[..., :3]))
    la = rgba[..., :2]
    t = to_tensor(la)
    assert t.shape == (1, 5, 6) and torch.equal(t, to_tensor(la[..., 0]))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.int8])
def test_to_tensor_bad_dtype(dtype):
    with pytest.raises(TypeError, match="array must be uint8, uint16 or float"):
        to_tensor(np.zeros((4, 4, 3), dtype=dtype))


@pytest.mark.parametrize("shape", [(4,), (4, 4, 5), (2, 4, 4, 3), (4, 4, 0)])
def test_to_tensor_bad_shape(shape):
    with pytest.raises(ValueError, match="array must have shape"):
        to_tensor(np.zeros(shape, dtype=np.uint8))


def test_to_tensor_float_out_of_range():
    with pytest.raises(ValueError, match="float array must have values in"):
        to_tensor(np.full((3, 3), 1.5))


def test_to_uint8_and_to_rgb():
    t = torch.tensor([[[0.0, 0.5, 1.0, 1.3]]])
    assert to_uint8(t).tolist() == [[0, 128, 255, 255]]
    rgb = torch.rand(3, 4, 5)
    assert to_uint8(rgb).shape == (4, 5, 3)
    assert torch.equal(to_rgb(t[:, :, :3]), t[:, :, :3].expand(3, -1, -1))
    assert to_rgb(rgb) is rgb
    with pytest.raises(ValueError, match="image must be a tensor of shape"):
        to_uint8(torch.rand(1, 1, 4, 5))
    with pytest.raises(ValueError, match="image must have shape"):
        to_rgb(torch.rand(2, 4, 5))


# ----------------------------------------------------------------------------- files
def test_save_read_rgb_roundtrip(tmp_path):
    t = torch.rand(3, 9, 14, generator=torch.Generator().manual_seed(0))
    save_image(t, tmp_path / "a.png")
    back = read_image(tmp_path / "a.png")
    assert back.shape == (3, 9, 14) and back.dtype == torch.float32
    assert torch.equal(back, torch.from_numpy(to_uint8(t)).permute(2, 0, 1).float() / 255)
    assert (back - t).abs().max() <= 0.5 / 255 + 1e-6


def test_save_read_gray_roundtrip(tmp_path):
    t = torch.rand(1, 10, 7, generator=torch.Generator().manual_seed(1))
    save_image(t, tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as im:
        assert im.mode == "L"
    back = read_image(str(tmp_path / "g.png"))
    assert back.shape == (1, 10, 7)
    assert (back - t).abs().max() <= 0.5 / 255 + 1e-6


def test_read_16bit_png(tmp_path):
    a = (np.arange(12 * 10, dtype=np.uint32).reshape(12, 10) * 521 % 65536).astype(np.uint16)
    assert cv2.imwrite(str(tmp_path / "d.png"), a)
    with Image.open(tmp_path / "d.png") as im:
        assert im.mode.startswith("I")                  # a genuine 16-bit file
    t = read_image(tmp_path / "d.png")
    assert t.shape == (1, 12, 10)
    assert torch.allclose(t[0], torch.from_numpy(a.astype(np.float32)) / 65535, atol=1e-7)
    assert (t * 255 - (t * 255).round()).abs().max() > 0.1     # finer than 8 bits: not squashed


def test_read_palette_png(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    pal = Image.fromarray(rgb).quantize(colors=6)
    pal.save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as im:
        assert im.mode == "P"
        expected = to_tensor(np.asarray(im.convert("RGB")))
    t = read_image(tmp_path / "p.png")
    assert t.shape == (3, 8, 9) and torch.equal(t, expected)
    assert len(torch.unique(t.reshape(3, -1), dim=1).T) <= 6


def test_read_palette_png_with_transparency(tmp_path):
    pal = Image.fromarray(np.random.default_rng(3).integers(0, 256, (5, 5, 3), dtype=np.uint8)).quantize(4)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    t = read_image(tmp_path / "pt.png")
    assert t.shape == (3, 5, 5)                          # alpha dropped


def test_read_missing_file(tmp_path):
    with pytest.raises(ValueError, match="path .* is not a readable file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="path"):
        read_image(tmp_path)


# ----------------------------------------------------------------------------- the registry
EXPECTED_COUNTS = {"BSD68": 68, "CBSD68": 68, "Set12": 12, "Train400": 400, "LIVE1": 29, "Set14": 14,
                   "classic5": 5, "Kodak24": 24, "McMaster": 18, "RNI15": 15, "RNI6": 6, "CBSD398": 398}


def test_registry_sets_and_counts():
    reg = registry()
    assert {k: len(v) for k, v in reg.items()} == EXPECTED_COUNTS
    assert dataset_names() == sorted(EXPECTED_COUNTS)


def test_registry_entries_are_pinned_and_checked():
    for name, files in registry().items():
        assert len({f.name for f in files}) == len(files)
        for f in files:
            assert f.dataset == name
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f
            assert f.size > 0
            assert f.url.startswith("https://raw.githubusercontent.com/"), f
            assert re.search(r"/[0-9a-f]{40}/", f.url), f"{f.url} is not pinned to a commit"
            assert f.url.endswith("/" + f.name)
            assert Path(f.name).suffix.lower() in data.IMAGE_EXTENSIONS


# ----------------------------------------------------------------------------- named sets from a folder
@pytest.fixture
def local_root(tmp_path) -> tuple[Path, dict[str, torch.Tensor]]:
    """A made-up ``Set12`` folder with two small PNGs and a file that is not an image."""
    folder = tmp_path / "Set12"
    folder.mkdir()
    imgs = {"b": write_png(folder / "b.png", 1), "a": write_png(folder / "a.png", 2, mode="L")}
    (folder / "notes.txt").write_text("not an image")
    return tmp_path, imgs


def test_set_files_from_root(local_root):
    root, _ = local_root
    assert set_files("Set12", root=root) == [root / "Set12" / "a.png", root / "Set12" / "b.png"]


def test_load_set_from_root(local_root):
    root, imgs = local_root
    got = load_set("Set12", root=root)
    assert list(got) == ["a", "b"]
    assert got["a"].shape == (1, 12, 16) and got["b"].shape == (3, 12, 16)
    assert all(torch.equal(got[k], imgs[k]) for k in imgs)
    assert list(load_set("Set12", root=str(root), limit=1)) == ["a"]


def test_load_set_from_env(local_root, monkeypatch):
    root, imgs = local_root
    monkeypatch.setenv("RESTORELIB_DATA", str(root))
    got = load_set("Set12")
    assert list(got) == ["a", "b"] and torch.equal(got["b"], imgs["b"])


def test_load_set_shared(shared_data):
    got = load_set("Set12", limit=2, root=shared_data)
    assert list(got) == ["01", "02"]
    assert all(t.shape == (1, 256, 256) and t.dtype == torch.float32 for t in got.values())


def test_load_set_shared_via_env(shared_data, monkeypatch):
    monkeypatch.setenv("RESTORELIB_DATA", str(shared_data))
    got = load_set("CBSD68", limit=1)
    assert len(got) == 1 and next(iter(got.values())).shape[0] == 3


@pytest.mark.parametrize("name", ["Set12", "BSD68", "CBSD68", "CBSD398"])
def test_registry_hashes_match_shared_copies(shared_data, name):
    """The PNG sets are byte-identical copies of the published files: the registry's hashes must fit them."""
    for rf in registry()[name][:3]:
        local = shared_data / name / rf.name
        assert local.stat().st_size == rf.size
        assert sha256_file(local) == rf.sha256


def test_load_set_embedded():
    got = load_set("embedded-test")
    assert list(got) == list(EMBEDDED_TEST)
    assert list(load_set("embedded", limit=2)) == list(EMBEDDED[:2])
    assert list(load_set("embedded-train", limit=1)) == [EMBEDDED_TRAIN[0]]


def test_load_set_unknown():
    with pytest.raises(ValueError, match="name must be one of"):
        load_set("Urban100")
    with pytest.raises(ValueError, match="name must be one of"):
        set_files("bsd68")


@pytest.mark.parametrize("limit", [0, -1, 1.5, "2"])
def test_load_set_bad_limit(limit):
    with pytest.raises(ValueError, match="limit must be a positive int"):
        load_set("embedded", limit=limit)


def test_load_folder(tmp_path):
    a = write_png(tmp_path / "b.png", 3)
    Image.fromarray(np.full((6, 6, 3), 200, np.uint8)).save(tmp_path / "a.bmp")
    Image.fromarray(np.full((6, 6), 100, np.uint8)).save(tmp_path / "c.JPG", quality=95)
    (tmp_path / "z.txt").write_text("skip me")
    (tmp_path / "sub").mkdir()
    got = load_folder(tmp_path)
    assert list(got) == ["a", "b", "c"]
    assert torch.equal(got["b"], a)
    assert torch.allclose(got["a"], torch.full((3, 6, 6), 200 / 255))
    assert got["c"].shape == (1, 6, 6)
    assert list(load_folder(str(tmp_path), limit=2)) == ["a", "b"]


def test_load_folder_empty(tmp_path):
    (tmp_path / "readme.md").write_text("no images here")
    with pytest.raises(ValueError, match="folder .* holds no images"):
        load_folder(tmp_path)


def test_load_folder_missing(tmp_path):
    with pytest.raises(ValueError, match="folder .* is not a readable directory"):
        load_folder(tmp_path / "missing")
    (tmp_path / "f.png").write_bytes(png_bytes(0))
    with pytest.raises(ValueError, match="folder"):
        load_folder(tmp_path / "f.png")


# ----------------------------------------------------------------------------- the downloader
class LoopbackServer:
    """An HTTP server on 127.0.0.1 serving in-memory bytes, counting the requests per path.

    ``routes[path] = body`` serves ``body``; ``truncate[path] = n`` announces ``len(body)`` bytes in
    Content-Length but sends only the first ``len(body) - n`` and closes the connection (a transfer cut off
    midway); ``unannounced`` paths are sent without Content-Length; ``redirects[path] = url`` answers 302 to
    ``url``; an unknown path gives 404.
    """

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.truncate: dict[str, int] = {}
        self.unannounced: set[str] = set()
        self.redirects: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                state.hits[self.path] = state.hits.get(self.path, 0) + 1
                if self.path in state.redirects:
                    self.send_response(302)
                    self.send_header("Location", state.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = state.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if self.path not in state.unannounced:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body[:len(body) - state.truncate.get(self.path, 0)])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):      # the client stopped reading: fine
                    pass
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


def no_part_files(folder: Path) -> bool:
    return not list(folder.glob("*.part")) and not list(folder.glob("*.part*"))


def test_download_good_file_then_reuse(server, tmp_path):
    body = png_bytes(10)
    server.routes["/good.png"] = body
    dest = tmp_path / "sub" / "good.png"
    out = download(server.url("/good.png"), dest, sha(body), size=len(body), timeout=5)
    assert out == dest and dest.read_bytes() == body
    assert sha256_file(dest) == sha(body)
    assert server.hits == {"/good.png": 1}
    mtime = dest.stat().st_mtime_ns
    assert download(server.url("/good.png"), dest, sha(body), size=len(body), timeout=5) == dest
    assert server.hits == {"/good.png": 1}            # reused: the server was not asked again
    assert dest.stat().st_mtime_ns == mtime
    assert no_part_files(dest.parent)


def test_download_wrong_hash(server, tmp_path):
    body = png_bytes(11)
    server.routes["/f.png"] = body
    dest = tmp_path / "f.png"
    with pytest.raises(DownloadError, match="sha256"):
        download(server.url("/f.png"), dest, sha(b"something else"), timeout=5)
    assert server.total_hits == 1
    assert not dest.exists()
    assert no_part_files(tmp_path) and list(tmp_path.iterdir()) == []


def test_download_truncated_transfer(server, tmp_path):
    body = png_bytes(12)
    server.routes["/t.png"] = body
    server.truncate["/t.png"] = 100                   # announces the whole file, sends all but 100 bytes
    dest = tmp_path / "t.png"
    with pytest.raises(DownloadError, match=f"got {len(body) - 100} bytes, expected {len(body)}"):
        download(server.url("/t.png"), dest, sha(body), size=len(body), timeout=5)
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="sha256 .* does not match"):   # the hash alone catches it too
        download(server.url("/t.png"), dest, sha(body), timeout=5)
    assert server.total_hits == 2
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_download_size_mismatch(server, tmp_path):
    body = png_bytes(13)
    server.routes["/s.png"] = body
    dest = tmp_path / "s.png"
    with pytest.raises(DownloadError, match=f"got {len(body)} bytes, expected {len(body) + 1}"):
        download(server.url("/s.png"), dest, sha(body), size=len(body) + 1, timeout=5)
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_download_http_error(server, tmp_path):
    dest = tmp_path / "missing.png"
    with pytest.raises(DownloadError, match="404"):
        download(server.url("/missing.png"), dest, "0" * 64, timeout=5)
    assert server.hits == {"/missing.png": 1}
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_download_server_down(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "x.png"
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match="download failed"):
        download(f"http://127.0.0.1:{port}/x.png", dest, "0" * 64, timeout=2)
    assert time.perf_counter() - t0 < 5
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_download_replaces_wrong_file_only_after_success(server, tmp_path):
    good, stale = png_bytes(14), b"stale bytes from an older, broken download"
    dest = tmp_path / "r.png"
    dest.write_bytes(stale)
    server.routes["/bad.png"] = png_bytes(15)
    with pytest.raises(DownloadError, match="sha256"):  # the server serves other bytes: dest is left alone
        download(server.url("/bad.png"), dest, sha(good), timeout=5)
    assert dest.read_bytes() == stale
    server.truncate["/good.png"] = 50
    server.routes["/good.png"] = good
    with pytest.raises(DownloadError, match="bytes, expected"):   # a short transfer: dest is left alone
        download(server.url("/good.png"), dest, sha(good), size=len(good), timeout=5)
    assert dest.read_bytes() == stale
    del server.truncate["/good.png"]
    assert download(server.url("/good.png"), dest, sha(good), size=len(good), timeout=5) == dest
    assert dest.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]


def test_download_reads_no_more_than_the_expected_size(server, tmp_path):
    small, huge = png_bytes(16), b"x" * (20 << 20)                   # the registry says 1 KB, the server sends 20 MB
    server.routes["/big.png"] = server.routes["/quiet.png"] = huge
    server.unannounced.add("/quiet.png")
    dest = tmp_path / "big.png"
    with pytest.raises(DownloadError, match=f"announces {len(huge)} bytes, expected {len(small)}; not fetched"):
        download(server.url("/big.png"), dest, sha(small), size=len(small), timeout=5)
    with pytest.raises(DownloadError, match=f"more than the expected {len(small)} bytes; stopped"):
        download(server.url("/quiet.png"), dest, sha(small), size=len(small), timeout=5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["file:///etc/hostname", "http://example.com/x.png", "ftp://127.0.0.1/x.png",
                                 "https:///nohost.png", "data:,hello"])
def test_download_fetches_only_https_or_loopback_http(tmp_path, url):
    with pytest.raises(ValueError, match="url must be https://"):
        download(url, tmp_path / "x.png", "0" * 64, timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_download_redirects_are_checked_too(server, tmp_path):
    server.redirects["/moved.png"] = "http://10.1.2.3/elsewhere.png"      # a downgrade to plain http elsewhere
    server.redirects["/local.png"] = "file:///etc/hostname"
    for path in ("/moved.png", "/local.png"):
        with pytest.raises(DownloadError):
            download(server.url(path), tmp_path / "x.png", "0" * 64, timeout=2)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="url must be https"):
        download(server.url("/moved.png"), tmp_path / "x.png", "0" * 64, timeout=2)


@pytest.mark.parametrize("dataset, name", [("Fake", "../escaped.png"), ("Fake", "/tmp/escaped.png"),
                                           ("..", "escaped.png"), ("Fake", "sub/escaped.png"), ("Fake", "..")])
def test_registry_names_cannot_leave_the_cache(server, monkeypatch, tmp_path, dataset, name):
    body = png_bytes(22)
    server.routes["/e.png"] = body
    rows = (RemoteFile(dataset, name, server.url("/e.png"), sha(body), len(body)),)
    monkeypatch.setattr(data, "registry", lambda: {dataset: rows})
    monkeypatch.setenv("RESTORELIB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="must be a plain name inside the cache"):
        set_files(dataset)
    assert server.total_hits == 0 and not list(tmp_path.rglob("escaped.png"))


def test_download_removes_the_part_file_of_a_killed_download(server, tmp_path):
    body = png_bytes(23)
    server.routes["/k.png"] = body
    dest = tmp_path / "k.png"
    stale = tmp_path / f"k.png.{2**22 + 7}-deadbeef.part"            # left by a process that no longer runs
    stale.write_bytes(body[:10])
    assert download(server.url("/k.png"), dest, sha(body), size=len(body), timeout=5) == dest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.png"]


def test_download_bad_sha_argument(tmp_path):
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits"):
        download("http://127.0.0.1:1/x", tmp_path / "x", "abc")


@pytest.fixture
def fake_set(server, monkeypatch, tmp_path):
    """A registry with one set 'Fake' of two PNGs served by the loopback server; the cache in tmp_path."""
    bodies = {"img1.png": png_bytes(20), "img0.png": png_bytes(21, mode="L")}
    files = []
    for name, body in bodies.items():
        server.routes[f"/Fake/{name}"] = body
        files.append(RemoteFile("Fake", name, server.url(f"/Fake/{name}"), sha(body), len(body)))
    monkeypatch.setattr(data, "registry", lambda: {"Fake": tuple(files)})
    monkeypatch.setenv("RESTORELIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RESTORELIB_DATA", raising=False)
    return bodies


def test_set_files_downloads_into_cache(fake_set, server, tmp_path):
    folder = tmp_path / "cache" / "Fake"
    with pytest.raises(FileNotFoundError, match="download_missing=False"):
        set_files("Fake", download_missing=False)
    assert server.total_hits == 0
    paths = set_files("Fake")
    assert paths == [folder / "img0.png", folder / "img1.png"]
    assert all(p.read_bytes() == fake_set[p.name] for p in paths)
    assert server.total_hits == 2
    assert set_files("Fake", download_missing=False) == paths       # cached now
    got = load_set("Fake")
    assert list(got) == ["img0", "img1"]
    assert got["img0"].shape == (1, 12, 16) and got["img1"].shape == (3, 12, 16)
    assert server.total_hits == 2                                    # no download on later calls
    assert dataset_names() == ["Fake"]


def test_set_files_root_without_the_set_downloads(fake_set, server, tmp_path):
    root = tmp_path / "data"
    (root / "Fake").mkdir(parents=True)                              # present but empty: not used
    assert len(set_files("Fake", root=root)) == 2
    assert server.total_hits == 2


def test_no_network_beyond_loopback(tmp_path):
    """The tests' safety net (conftest.py): a real address is refused before any packet leaves."""
    rf = registry()["Set12"][0]
    with pytest.raises(DownloadError, match="only loopback addresses are allowed"):
        download(rf.url, tmp_path / rf.name, rf.sha256, size=rf.size, timeout=2)
    assert list(tmp_path.iterdir()) == []


def test_limit_rejects_bool():
    with pytest.raises(ValueError, match="limit"):
        data.load_set("embedded-test", limit=True)
