"""A stand-in for the Hugging Face hub on loopback, serving one local folder as one model repository
(the API routes snapshot_download uses). Never a real hub."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repo_id: str, folder: Path, gated: bool = False):
        self.repo_id, self.folder, self.gated = repo_id, Path(folder), gated
        self.files = sorted(str(p.relative_to(folder)) for p in self.folder.rglob("*") if p.is_file())
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.answer(self, body=False)

            def do_GET(self):
                hub.answer(self, body=True)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request, body: bool):
        path = unquote(urlparse(request.path).path)
        self.requests.append(f"{request.command} {path}")
        if self.gated:
            return self.send(request, 401, b"", {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model is restricted."}, body)
        api = f"/api/models/{self.repo_id}/"
        if path.startswith(api + "revision/"):
            info = {"id": self.repo_id, "modelId": self.repo_id, "sha": COMMIT, "private": False,
                    "siblings": [{"rfilename": f} for f in self.files]}
            return self.send(request, 200, json.dumps(info).encode(), {"Content-Type": "application/json"}, body)
        if path.startswith(api + "tree/"):
            tree = [{"type": "file", "path": f, "size": (self.folder / f).stat().st_size, "oid": self.oid(f)} for f in self.files]
            return self.send(request, 200, json.dumps(tree).encode(), {"Content-Type": "application/json"}, body)
        resolve = f"/{self.repo_id}/resolve/"
        if path.startswith(resolve):
            name = path[len(resolve):].split("/", 1)[1]
            if name in self.files:
                data = (self.folder / name).read_bytes()
                headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{self.oid(name)}"', "Content-Type": "application/octet-stream"}
                return self.send(request, 200, data, headers, body)
            return self.send(request, 404, b"", {"X-Error-Code": "EntryNotFound"}, body)
        self.send(request, 404, b"", {"X-Error-Code": "RepoNotFound"}, body)

    def oid(self, name: str) -> str:
        return hashlib.sha1((self.folder / name).read_bytes()).hexdigest()

    @staticmethod
    def send(request, status: int, data: bytes, headers: dict, body: bool):
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if body:
            request.wfile.write(data)
