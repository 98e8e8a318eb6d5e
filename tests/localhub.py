"""A local imitation of the Hugging Face Hub for the tests: an HTTP server on 127.0.0.1, started and
stopped by each test that uses it (the ``server`` fixture in ``conftest.py``), and the stand-in files
it serves in the layouts the real Hub has.

lafr reaches it the way it reaches the Hub: through ``HF_ENDPOINT`` (``lafr.datasets.hub_url``), so
no code path of lafr exists only for the tests.  The server honours HTTP range requests (resumed
downloads), and can refuse every request, ignore ranges, or drop the connection part-way once.
"""

import hashlib
import http.server
import io
import json
import re
import tarfile
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def _hub_file(self, head: bool) -> bytes | None:
        """A file of a repository in ``srv.repos`` ({(kind, repo_id): (commit, {path: bytes})}, kind "" for
        models, "datasets" for datasets), answered as the Hub answers ``/<repo>/resolve/<revision>/<path>``:
        the commit in X-Repo-Commit, an ETag, and 404 with the Hub's X-Error-Code for a revision or an
        entry it does not have.  None when the request was answered here."""
        m = re.fullmatch(r"/(?:(datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", self.path.split("?")[0])
        repo = m and self.server.repos.get((m.group(1) or "", m.group(2)))
        if repo is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.end_headers()
            return None
        commit, files = repo
        if m.group(3) not in (commit, "main"):
            self.send_response(404)
            self.send_header("X-Error-Code", "RevisionNotFound")
            self.end_headers()
            return None
        if m.group(4) not in files:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Repo-Commit", commit)
            self.end_headers()
            return None
        body = files[m.group(4)]  # bytes, or a Path streamed from disk (the large stand-ins)
        size = body.stat().st_size if isinstance(body, Path) else len(body)
        start = 0
        if r := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or ""):
            start = min(int(r.group(1)), size)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("X-Repo-Commit", commit)
        etag = hashlib.sha256(f"{m.group(4)}:{size}".encode() if isinstance(body, Path) else body).hexdigest()
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        if head:
            return None
        if isinstance(body, Path):
            with open(body, "rb") as f:
                f.seek(start)
                while block := f.read(1 << 22):
                    self.wfile.write(block)
        else:
            self.wfile.write(body[start:])
        return None

    def _json(self, code: int, value, error: str = "") -> None:
        body = json.dumps(value).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if error:
            self.send_header("X-Error-Code", error)
        self.end_headers()
        self.wfile.write(body)

    def _hub_api(self) -> None:
        """The two API routes the Hub clients ask here: a repository's info at a revision
        (``/api/models/<repo>/revision/<rev>``) and a folder's listing (``/api/models/<repo>/tree/<rev>/<path>``)."""
        m = re.fullmatch(
            r"/api/(models|datasets)/([^/]+/[^/]+)/(revision|tree)/([^/]+)(?:/(.*))?", self.path.split("?")[0]
        )
        repo = m and self.server.repos.get(("" if m.group(1) == "models" else "datasets", m.group(2)))
        if repo is None:
            return self._json(404, {"error": "Repository not found"}, "RepoNotFound")
        commit, files = repo
        if m.group(4) not in (commit, "main"):
            return self._json(404, {"error": "Invalid rev id"}, "RevisionNotFound")
        if m.group(3) == "revision":
            return self._json(200, {"id": m.group(2), "sha": commit, "siblings": [{"rfilename": f} for f in files]})
        folder = (m.group(5) or "").strip("/")
        inside = [f for f in files if not folder or f.startswith(folder + "/")]
        if not inside:
            return self._json(404, {"error": "Entry not found"}, "EntryNotFound")
        entries = {}
        for f in inside:
            rest = f[len(folder) + 1 :] if folder else f
            head = rest.split("/")[0]
            path = f"{folder}/{head}" if folder else head
            if "/" in rest:
                entries[path] = {"type": "directory", "path": path, "oid": commit, "size": 0}
            else:
                body = files[f]
                size = body.stat().st_size if isinstance(body, Path) else len(body)
                oid = hashlib.sha1(f"{f}:{size}".encode() if isinstance(body, Path) else body).hexdigest()
                entries[path] = {"type": "file", "path": path, "oid": oid, "size": size}
        return self._json(200, list(entries.values()))

    def do_GET(self, head: bool = False):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        if srv.refuse:
            self.send_error(srv.refuse)
            return
        if self.path.startswith("/api/"):
            self._hub_api()
            return
        if self.path not in srv.files:
            self._hub_file(head)
            return
        body = srv.files[self.path]
        start = 0
        if srv.ranges and (m := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")):
            start = int(m.group(1))
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if srv.cut_after is not None:  # send part of the file, then drop the connection, once
            self.wfile.write(body[start : start + srv.cut_after])
            srv.cut_after = None
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@contextmanager
def serve():
    """A running server: ``.url``, ``.files`` (path -> bytes), ``.requests`` (path, Range) seen so far,
    ``.refuse`` (an HTTP status for every request), ``.ranges`` (honour Range), ``.cut_after`` (bytes)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.requests, srv.refuse, srv.cut_after, srv.ranges = {}, [], None, None, True
    srv.repos = {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def ffhq_shard(first: int, per: int = 1000, size: int = 16, omit: tuple[int, ...] = (), faces=None) -> bytes:
    """A stand-in for one shard of gaunernst/ffhq-1024-wds: a tar of ``per`` lossless WebP faces
    ``{id:05d}.webp`` from id ``first`` on (``size`` px of noise seeded by the id, not faces; or the
    H x W x 3 uint8 image ``faces[id]`` where given), less the ids in ``omit``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(first, first + per):
            if i in omit:
                continue
            pixels = (faces or {}).get(i)
            if pixels is None:
                pixels = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
            img = io.BytesIO()
            Image.fromarray(pixels).save(img, format="WEBP", lossless=True)
            info = tarfile.TarInfo(f"{i:05d}.webp")
            info.size = img.tell()
            img.seek(0)
            t.addfile(info, img)
    return buf.getvalue()


def folder_files(folder, stream_over: int = 1 << 24) -> dict[str, bytes | Path]:
    """Every file under ``folder`` by its path relative to it: a repository's content to serve (files
    over ``stream_over`` bytes as paths, streamed from disk when asked for)."""
    folder = Path(folder)
    return {
        p.relative_to(folder).as_posix(): p if p.stat().st_size > stream_over else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
