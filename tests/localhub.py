"""A local imitation of the Hugging Face Hub for the tests: an HTTP server on 127.0.0.1, started and
stopped by each test that uses it (the ``server`` fixture in ``conftest.py``), and the stand-in files
it serves in the layouts the real Hub has.

lafr reaches it the way it reaches the Hub: through ``HF_ENDPOINT`` (``lafr.datasets.hub_url``), so
no code path of lafr exists only for the tests.  The server honours HTTP range requests (resumed
downloads), and can refuse every request, ignore ranges, or drop the connection part-way once.
"""

import http.server
import io
import re
import tarfile
import threading
from contextlib import contextmanager

import numpy as np
from PIL import Image


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        if srv.refuse:
            self.send_error(srv.refuse)
            return
        if self.path not in srv.files:
            self.send_error(404)
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
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def ffhq_shard(first: int, per: int = 1000, size: int = 16, omit: tuple[int, ...] = ()) -> bytes:
    """A stand-in for one shard of gaunernst/ffhq-1024-wds: a tar of ``per`` lossless WebP faces
    ``{id:05d}.webp`` from id ``first`` on (``size`` px of noise seeded by the id, not faces), less
    the ids in ``omit``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(first, first + per):
            if i in omit:
                continue
            pixels = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
            img = io.BytesIO()
            Image.fromarray(pixels).save(img, format="WEBP", lossless=True)
            info = tarfile.TarInfo(f"{i:05d}.webp")
            info.size = img.tell()
            img.seek(0)
            t.addfile(info, img)
    return buf.getvalue()
