"""A local Hugging Face Hub emulator for tests (standard library only).

`LocalHub` runs a `ThreadingHTTPServer` (HTTP/1.1) on 127.0.0.1 that speaks enough of the Hub's HTTP
API for the real, unmodified `huggingface_hub` client (with `HF_HUB_DISABLE_XET=1`) and for
`transformers`' `push_to_hub` / `from_pretrained`. Protocol facts: /work/shared/notes/hub-protocol.md.

Endpoints (`{T}` = models|datasets|spaces, `{P}` = ""|"datasets/"|"spaces/", `{R}` = "ns/name"):

    GET    /api/whoami-v2
    POST   /api/repos/create                      {"name","organization","visibility"|"private","type"}
    DELETE /api/repos/delete                      {"name","organization","type"}
    POST   /api/validate-yaml                     always {"errors": [], "warnings": []}
    GET    /api/{T}/{R}[/revision/{rev}]          repo info: id, sha, siblings, private, lastModified
    GET    /api/{T}/{R}/tree/{rev}[/{path}]       ?recursive=true (no pagination: one page)
    POST   /api/{T}/{R}/preupload/{rev}           "lfs" if the path matches the LFS patterns of the
                                                  branch's .gitattributes, or the sample is binary, or
                                                  size >= 10 MB; else "regular". Plus the remote oid.
    POST   /api/{T}/{R}/commit/{rev}              ndjson: header/file/lfsFile/deletedFile/deletedFolder
    POST   /api/{T}/{R}/branch/{branch}           {"startingPoint"?};  DELETE removes the branch
    POST   /api/{T}/{R}/tag/{rev}                 {"tag","message"?};  DELETE /tag/{tag} removes it
    GET    /api/{T}/{R}/refs                      branches, tags, converts (+ pullRequests)
    GET    /api/{T}/{R}/commits/{rev}             newest first (one page)
    HEAD   /{P}{R}/resolve/{rev}/{path}           X-Repo-Commit, ETag/X-Linked-Etag, Content-Length
    GET    /{P}{R}/resolve/{rev}/{path}           same headers + body; single `Range: bytes=a-b`
    POST   /{P}{R}.git/info/lfs/objects/batch     LFS batch API, "basic" transfer only
    PUT    /_lfs/upload/{sha256}?size=&sig=       pre-signed upload URL (no Authorization header)
    POST   /_lfs/verify/{sha256}?sig=             LFS verify step

Not supported: pull requests (`create_pr`), Xet, multipart LFS, gitignore handling in preupload
(`shouldIgnore` is always false), pagination, gated repos, the `paths-info` endpoint. Requests with
no route get a 404 and are recorded in `LocalHub.unhandled`; every request is in `LocalHub.requests`.

Auth: `tokens` maps a token to `(user, orgs, role)` with role "read" or "write". Public repos are
readable anonymously. A private repo is readable only by its namespace's user or org members;
otherwise it looks missing (401 without a token, 404 with one, both with X-Error-Code RepoNotFound).
Writes need a write token for a namespace the user owns (user name or one of the orgs). An unknown
token always gets 401 "Invalid credentials in Authorization header".

Storage under `root` (survives a server restart on the same root):

    blobs/<sha256>                             file contents, content-addressed
    repos/<T>/<ns>/<name>/repo.json            {"private", "createdAt"}
    repos/<T>/<ns>/<name>/refs.json            {"branches": {name: commit}, "tags": {...}}
    repos/<T>/<ns>/<name>/commits/<id>.json    {"id","parents","title","message","date","author",
                                                "files": {path: {"blob": sha256, "size", "lfs"}}}

Blobs are written before the commit manifest, the manifest before the ref, each via os.replace,
so a failed commit leaves the branch untouched. Commit ids are 40 lowercase hex characters.

Pytest recipe. huggingface_hub reads HF_ENDPOINT at import time and transformers caches an HfApi
singleton, so drive the real clients in a fresh interpreter with `run_with_hub_env`:

    from hub_server import LocalHub, run_with_hub_env  # tests/ is on sys.path under pytest

    @pytest.fixture
    def hub(tmp_path):
        with LocalHub(tmp_path / "hub", tokens={"hf_w": ("alice", ["org"], "write")}) as h:
            yield h

    def test_push(hub, tmp_path):
        proc = run_with_hub_env(
            "from huggingface_hub import HfApi; HfApi().create_repo('org/x')",
            hub.endpoint, hf_home=tmp_path / "hf_home", token="hf_w",
        )
        assert proc.returncode == 0, proc.stderr
        assert ".gitattributes" in hub.repo_files("org/x")
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub sends files of 10 MB and more to LFS

# The .gitattributes the Hub puts in the initial commit of a new model repo.
DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""

MSG_NO_TOKEN = "You must be authenticated to access this resource (no token sent)"
MSG_BAD_TOKEN = "Invalid credentials in Authorization header"
MSG_READ_ONLY = "Your token does not have write access"
MSG_REPO_NOT_FOUND = "Repository not found"


class HubError(Exception):
    """An HTTP error answer: JSON body {"error": message}, X-Error-Message and optional X-Error-Code."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


@dataclass(frozen=True)
class Principal:
    user: str
    orgs: tuple[str, ...]
    role: str  # "read" or "write"

    @property
    def namespaces(self) -> set[str]:
        return {self.user, *self.orgs}


# ----------------------------------------------------------------------------------------- helpers
def git_blob_sha1(data: bytes) -> str:
    """The git blob id of `data` (what the Hub reports as the oid / ETag of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def lfs_patterns(gitattributes: str) -> list[str]:
    return [
        line.split()[0]
        for line in gitattributes.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "filter=lfs" in line.split()[1:]
    ]


def matches_lfs(path: str, patterns: list[str]) -> bool:
    basename = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" not in pattern:
            if fnmatchcase(basename, pattern):
                return True
        elif fnmatchcase(path, pattern) or fnmatchcase(path, pattern.replace("**/", "")):
            return True
    return False


def looks_binary(sample: bytes) -> bool:
    """NUL bytes or invalid UTF-8 (ignoring a multi-byte character cut at the end of the sample)."""
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(sample) - 3
    return False


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_json(path: Path, obj) -> None:
    _write_atomic(path, json.dumps(obj, indent=1, sort_keys=True).encode())


# ------------------------------------------------------------------------------- storage + policy
class LocalHub:
    """A Hub emulator serving repos stored under `root`. Use as a context manager or start()/stop()."""

    def __init__(self, root, tokens: dict[str, tuple[str, list[str], str]] | None = None, port: int = 0):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tokens = {tok: Principal(user, tuple(orgs), role) for tok, (user, orgs, role) in (tokens or {}).items()}
        self.port = port
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every request
        self.unhandled: list[tuple[str, str]] = []  # requests that matched no route
        self._lock = threading.RLock()  # serialises all writes
        self._secret = secrets.token_bytes(16)  # signs LFS upload URLs
        self._sha1_cache: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle
    def start(self) -> LocalHub:
        handler = type("BoundHandler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="LocalHub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- inspection helpers for tests
    def ref(self, repo_id: str, branch: str = "main", repo_type: str = "model") -> str | None:
        """Commit id the branch points to, or None (no such repo or branch)."""
        return self._refs(self._repo_dir(repo_type, repo_id))["branches"].get(branch)

    def commits(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[str]:
        """Commit ids reachable from `revision`, newest first."""
        rdir = self._repo_dir(repo_type, repo_id)
        return [c["id"] for c in self._history(rdir, self._resolve(rdir, revision))]

    def repo_files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """{path: content} of the repo at `revision`."""
        rdir = self._repo_dir(repo_type, repo_id)
        cid = self._resolve(rdir, revision)
        if cid is None:
            raise KeyError(f"{repo_type} {repo_id}@{revision} not found")
        return {p: self.blob(e["blob"]) for p, e in self._commit(rdir, cid)["files"].items()}

    def blob(self, sha256: str) -> bytes:
        return (self.root / "blobs" / sha256).read_bytes()

    def create_repo(self, repo_id: str, repo_type: str = "model", private: bool = False, author: str = "") -> bool:
        """Create a repo with its initial commit (.gitattributes). False if it already exists."""
        rdir = self._repo_dir(repo_type, repo_id)
        with self._lock:
            if (rdir / "repo.json").exists():
                return False
            _write_json(rdir / "repo.json", {"private": private, "createdAt": now_iso()})
            self._commit_files(
                rdir,
                repo_id,
                None,
                {".gitattributes": self._file_entry(DEFAULT_GITATTRIBUTES.encode())},
                "initial commit",
                "",
                author or repo_id.split("/")[0],
            )
            return True

    def delete_repo(self, repo_id: str, repo_type: str = "model") -> bool:
        rdir = self._repo_dir(repo_type, repo_id)
        with self._lock:
            if not (rdir / "repo.json").exists():
                return False
            shutil.rmtree(rdir)
            return True

    # --- storage internals
    def _repo_dir(self, repo_type: str, repo_id: str) -> Path:
        ns, _, name = repo_id.partition("/")
        if "/" in name or not all(re.fullmatch(r"[\w.\-]+", part) and part.strip(".") for part in (ns, name)):
            raise HubError(400, f"Invalid repo id: {repo_id!r}")
        return self.root / "repos" / f"{repo_type}s" / ns / name

    def _meta(self, rdir: Path) -> dict | None:
        path = rdir / "repo.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _refs(self, rdir: Path) -> dict:
        path = rdir / "refs.json"
        return json.loads(path.read_text()) if path.exists() else {"branches": {}, "tags": {}}

    def _set_ref(self, rdir: Path, kind: str, name: str, cid: str | None) -> None:
        with self._lock:
            refs = self._refs(rdir)
            if cid is None:
                refs[kind].pop(name, None)
            else:
                refs[kind][name] = cid
            _write_json(rdir / "refs.json", refs)

    def _commit(self, rdir: Path, cid: str) -> dict:
        return json.loads((rdir / "commits" / f"{cid}.json").read_text())

    def _resolve(self, rdir: Path, rev: str) -> str | None:
        """Branch, tag or full commit id -> commit id (None if unknown)."""
        refs = self._refs(rdir)
        for name in (rev, rev.removeprefix("refs/heads/"), rev.removeprefix("refs/tags/")):
            if name in refs["branches"]:
                return refs["branches"][name]
            if name in refs["tags"]:
                return refs["tags"][name]
        if COMMIT_ID.match(rev) and (rdir / "commits" / f"{rev}.json").exists():
            return rev
        return None

    def _history(self, rdir: Path, cid: str | None) -> list[dict]:
        out = []
        while cid:
            commit = self._commit(rdir, cid)
            out.append(commit)
            cid = commit["parents"][0] if commit["parents"] else None
        return out

    def _put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / "blobs" / sha
        if not path.exists():
            _write_atomic(path, data)
        return sha

    def _has_blob(self, sha256: str, size: int) -> bool:
        path = self.root / "blobs" / sha256
        return path.exists() and path.stat().st_size == size

    def _file_entry(self, data: bytes, lfs: bool = False) -> dict:
        return {"blob": self._put_blob(data), "size": len(data), "lfs": lfs}

    def _etag(self, entry: dict) -> str:
        """sha256 for LFS files, git blob sha1 for regular ones (as the Hub)."""
        if entry["lfs"]:
            return entry["blob"]
        if entry["blob"] not in self._sha1_cache:
            self._sha1_cache[entry["blob"]] = git_blob_sha1(self.blob(entry["blob"]))
        return self._sha1_cache[entry["blob"]]

    def _tree_oid(self, entry: dict) -> str:
        """The git blob id in the tree: of the pointer file for LFS files."""
        return git_blob_sha1(lfs_pointer(entry["blob"], entry["size"])) if entry["lfs"] else self._etag(entry)

    def _commit_files(self, rdir, repo_id, parent, files, title, message, author, branch="main") -> str:
        """Write a commit manifest, then move the branch to it. Caller holds the lock."""
        commit = {
            "parents": [parent] if parent else [],
            "title": title,
            "message": message,
            "date": now_iso(),
            "author": author,
            "files": files,
        }
        seed = json.dumps({"repo": repo_id, **commit}, sort_keys=True).encode()
        commit["id"] = hashlib.sha1(seed).hexdigest()
        _write_json(rdir / "commits" / f"{commit['id']}.json", commit)
        self._set_ref(rdir, "branches", branch, commit["id"])
        return commit["id"]

    def _lfs_sig(self, oid: str, size: int) -> str:
        return hmac.new(self._secret, f"{oid}:{size}".encode(), "sha256").hexdigest()

    def _principal(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").strip()
        if token not in self.tokens:
            raise HubError(401, MSG_BAD_TOKEN)
        return self.tokens[token]


# ------------------------------------------------------------------------------------ HTTP layer
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: hence always drain bodies and send Content-Length
    hub: LocalHub  # set on the subclass made by LocalHub.start()
    timeout = 60

    def log_message(self, format, *args):  # quiet; see hub.requests
        pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = lambda self: self._dispatch()

    # --- plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _dispatch(self) -> None:
        self.body = self._read_body()  # always drain, even if we answer with an error
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        # Split first, then unquote each segment: revisions arrive as "feature%2Fx".
        segs = [unquote(s) for s in url.path.split("/")[1:]]
        try:
            self.principal = self.hub._principal(self.headers.get("Authorization"))
            self._route(segs)
        except HubError as err:
            self._error(err)
        except Exception:  # a bug in the emulator: make it visible in the client's error
            traceback.print_exc()
            self._error(HubError(500, "LocalHub internal error: " + traceback.format_exc(limit=3)[-300:]))

    def _send(self, status: int, body: bytes = b"", content_type="application/json", headers=None, length=None):
        """Always with Content-Length (HEAD included: `length` = size of the body a GET would get)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.hub.requests.append((self.command, self.path, status))

    def _json(self, obj, status: int = 200, headers=None) -> None:
        self._send(status, json.dumps(obj).encode(), headers=headers)

    def _error(self, err: HubError) -> None:
        first_line = err.message.splitlines()[0][:200] if err.message else ""
        headers = {"X-Error-Message": first_line.encode("ascii", "backslashreplace").decode()}
        if err.code:
            headers["X-Error-Code"] = err.code
        headers.update(err.extra.pop("headers", {}))
        self._json({"error": err.message, **err.extra}, err.status, headers)

    def _payload(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise HubError(400, f"Invalid JSON body: {exc}") from None

    # --- auth
    def _repo_not_found(self) -> HubError:
        return HubError(401 if self.principal is None else 404, MSG_REPO_NOT_FOUND, "RepoNotFound")

    def _can_read(self, meta: dict, ns: str) -> bool:
        return not meta["private"] or (self.principal is not None and ns in self.principal.namespaces)

    def _check_write(self, ns: str) -> None:
        if self.principal is None:
            raise HubError(401, MSG_NO_TOKEN)
        if self.principal.role != "write":
            raise HubError(403, MSG_READ_ONLY)
        if ns not in self.principal.namespaces:
            raise HubError(403, f"You don't have the rights to write in namespace '{ns}'")

    def _open_repo(self, repo_type: str, repo_id: str, write: bool = False) -> tuple[Path, dict]:
        rdir = self.hub._repo_dir(repo_type, repo_id)
        meta = self.hub._meta(rdir)
        ns = repo_id.split("/")[0]
        if meta is None or not self._can_read(meta, ns):
            raise self._repo_not_found()
        if write:
            self._check_write(ns)
        return rdir, meta

    def _rev(self, rdir: Path, rev: str) -> str:
        cid = self.hub._resolve(rdir, rev)
        if cid is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return cid

    # --- routing
    def _route(self, segs: list[str]) -> None:
        m = self.command
        if segs[:1] == ["api"]:
            api = segs[1:]
            if api == ["whoami-v2"] and m == "GET":
                return self._whoami()
            if api == ["repos", "create"] and m == "POST":
                return self._create_repo()
            if api == ["repos", "delete"] and m == "DELETE":
                return self._delete_repo()
            if api == ["validate-yaml"] and m == "POST":
                return self._json({"errors": [], "warnings": []})
            if len(api) >= 3 and api[0] in REPO_TYPES:
                return self._route_repo_api(m, REPO_TYPES[api[0]], f"{api[1]}/{api[2]}", api[3:])
        elif segs[:2] == ["_lfs", "upload"] and len(segs) == 3 and m == "PUT":
            return self._lfs_put(segs[2])
        elif segs[:2] == ["_lfs", "verify"] and len(segs) == 3 and m == "POST":
            return self._lfs_verify(segs[2])
        else:
            repo_type = "model"
            if segs[:1] in (["datasets"], ["spaces"]) and len(segs) > 3:
                repo_type, segs = REPO_TYPES[segs[0]], segs[1:]
            if len(segs) >= 4 and segs[2] == "resolve" and m in ("GET", "HEAD"):
                return self._resolve_file(repo_type, f"{segs[0]}/{segs[1]}", segs[3], "/".join(segs[4:]))
            if len(segs) == 6 and segs[1].endswith(".git") and segs[2:] == ["info", "lfs", "objects", "batch"]:
                return self._lfs_batch(repo_type, f"{segs[0]}/{segs[1][:-4]}")
        self.hub.unhandled.append((m, self.path))
        raise HubError(404, f"LocalHub has no route for {m} {urlsplit(self.path).path}")

    def _route_repo_api(self, m: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        op, args = (rest[0], rest[1:]) if rest else ("", [])
        if m == "GET" and not rest:
            return self._repo_info(repo_type, repo_id, "main")
        if m == "GET" and op == "revision" and len(args) == 1:
            return self._repo_info(repo_type, repo_id, args[0])
        if m == "GET" and op == "tree" and args:
            return self._tree(repo_type, repo_id, args[0], "/".join(args[1:]).strip("/"))
        if m == "POST" and op == "preupload" and len(args) == 1:
            return self._preupload(repo_type, repo_id, args[0])
        if m == "POST" and op == "commit" and len(args) == 1:
            return self._commit(repo_type, repo_id, args[0])
        if op == "branch" and len(args) == 1 and m in ("POST", "DELETE"):
            return self._branch(repo_type, repo_id, args[0])
        if op == "tag" and len(args) == 1 and m in ("POST", "DELETE"):
            return self._tag(repo_type, repo_id, args[0])
        if m == "GET" and op == "refs" and not args:
            return self._refs(repo_type, repo_id)
        if m == "GET" and op == "commits" and len(args) == 1:
            return self._commits(repo_type, repo_id, args[0])
        self.hub.unhandled.append((m, self.path))
        raise HubError(404, f"LocalHub has no route for {m} {urlsplit(self.path).path}")

    # --- account and repo management
    def _whoami(self) -> None:
        p = self.principal
        if p is None:
            raise HubError(401, MSG_NO_TOKEN)
        self._json(
            {
                "type": "user",
                "id": hashlib.sha1(p.user.encode()).hexdigest()[:24],
                "name": p.user,
                "fullname": p.user,
                "email": None,
                "emailVerified": True,
                "isPro": False,
                "orgs": [{"type": "org", "name": org, "fullname": org} for org in p.orgs],
                "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": p.role}},
            }
        )

    def _repo_from_payload(self) -> tuple[str, str]:
        body = self._payload()
        if not body.get("name"):
            raise HubError(400, "Missing repo name")
        ns = body.get("organization") or (self.principal.user if self.principal else None)
        if ns is None:
            raise HubError(401, MSG_NO_TOKEN)
        repo_type = body.get("type") or "model"
        if repo_type not in URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        return repo_type, f"{ns}/{body['name']}"

    def _create_repo(self) -> None:
        repo_type, repo_id = self._repo_from_payload()
        self._check_write(repo_id.split("/")[0])
        body = self._payload()
        private = body.get("visibility") == "private" or bool(body.get("private"))
        url = f"{self.hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"
        if not self.hub.create_repo(repo_id, repo_type, private=private, author=self.principal.user):
            # huggingface_hub reads r.json()["url"] from the 409 when exist_ok=True.
            raise HubError(409, f"You already created this {repo_type} repo", url=url)
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        repo_type, repo_id = self._repo_from_payload()
        self._open_repo(repo_type, repo_id, write=True)
        self.hub.delete_repo(repo_id, repo_type)
        self._json({})

    # --- reading
    def _repo_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        rdir, meta = self._open_repo(repo_type, repo_id)
        commit = self.hub._commit(rdir, self._rev(rdir, rev))
        siblings = []
        for path, entry in sorted(commit["files"].items()):
            sibling = {"rfilename": path, "size": entry["size"], "blobId": self.hub._tree_oid(entry)}
            if entry["lfs"]:
                pointer = lfs_pointer(entry["blob"], entry["size"])
                sibling["lfs"] = {"sha256": entry["blob"], "size": entry["size"], "pointerSize": len(pointer)}
            siblings.append(sibling)
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0],
            "sha": commit["id"],
            "lastModified": commit["date"],
            "createdAt": meta["createdAt"],
            "private": meta["private"],
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
        }
        if repo_type == "model":
            info["modelId"] = repo_id
        self._json(info)

    def _tree(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id)
        files = self.hub._commit(rdir, self._rev(rdir, rev))["files"]
        prefix = f"{path}/" if path else ""
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        entries, folders = [], set()
        for fpath, entry in sorted(files.items()):
            if not fpath.startswith(prefix):
                continue
            parts = fpath[len(prefix) :].split("/")
            for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
                folders.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                item = {"type": "file", "oid": self.hub._tree_oid(entry), "size": entry["size"], "path": fpath}
                if entry["lfs"]:
                    pointer_size = len(lfs_pointer(entry["blob"], entry["size"]))
                    item["lfs"] = {"oid": entry["blob"], "size": entry["size"], "pointerSize": pointer_size}
                entries.append(item)
        if path and not entries and not folders:
            raise HubError(404, f"{path} does not exist on {rev}", "EntryNotFound")
        dirs = [
            {"type": "directory", "oid": hashlib.sha1(f"{rev}:{d}".encode()).hexdigest(), "size": 0, "path": d}
            for d in sorted(folders)
        ]
        self._json(dirs + entries)

    def _resolve_file(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id)
        cid = self._rev(rdir, rev)
        entry = self.hub._commit(rdir, cid)["files"].get(path)
        if entry is None:  # X-Repo-Commit lets the client cache the miss in .no_exist/
            raise HubError(404, "Entry not found", "EntryNotFound", headers={"X-Repo-Commit": cid})
        etag = self.hub._etag(entry)
        headers = {"X-Repo-Commit": cid, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if entry["lfs"]:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": entry["size"]})
        size = entry["size"]
        start, end, status = 0, size - 1, 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if match and any(match.groups()):  # one range: "a-b", "a-" or "-n" (suffix)
            first, last = match.groups()
            start = int(first) if first else max(size - int(last), 0)
            end = min(int(last), size - 1) if first and last else size - 1
            if start >= size or start > end:
                raise HubError(416, "Range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            status = 206
        if self.command == "HEAD":  # Content-Length of the body a GET would send, but no body
            return self._send(status, b"", "application/octet-stream", headers, length=end - start + 1)
        data = self.hub.blob(entry["blob"])[start : end + 1]
        self._send(status, data, "application/octet-stream", headers)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id)
        refs = self.hub._refs(rdir)
        out = {
            kind: [{"name": n, "ref": f"refs/{prefix}/{n}", "targetCommit": c} for n, c in sorted(refs[kind].items())]
            for kind, prefix in (("branches", "heads"), ("tags", "tags"))
        }
        out["converts"] = []
        if self.query.get("include_prs"):
            out["pullRequests"] = []
        self._json(out)

    def _commits(self, repo_type: str, repo_id: str, rev: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id)
        history = self.hub._history(rdir, self._rev(rdir, rev))
        self._json(
            [
                {
                    "id": c["id"],
                    "title": c["title"],
                    "message": c["message"],
                    "date": c["date"],
                    "authors": [{"user": c["author"]}],
                }
                for c in history
            ]
        )

    # --- writing
    def _branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id, write=True)
        with self.hub._lock:
            exists = branch in self.hub._refs(rdir)["branches"]
            if self.command == "DELETE":
                if not exists:
                    raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
                if branch == "main":
                    raise HubError(403, "You cannot delete the default branch")
                self.hub._set_ref(rdir, "branches", branch, None)
            else:
                if exists:
                    raise HubError(409, "Reference already exists")
                start = self._rev(rdir, self._payload().get("startingPoint") or "main")
                self.hub._set_ref(rdir, "branches", branch, start)
        self._json({})

    def _tag(self, repo_type: str, repo_id: str, rev: str) -> None:
        rdir, _ = self._open_repo(repo_type, repo_id, write=True)
        with self.hub._lock:
            if self.command == "DELETE":
                if rev not in self.hub._refs(rdir)["tags"]:
                    raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                self.hub._set_ref(rdir, "tags", rev, None)
            else:
                tag = self._payload().get("tag")
                if not tag:
                    raise HubError(400, "Missing tag name")
                if tag in self.hub._refs(rdir)["tags"]:
                    raise HubError(409, "Tag already exists")
                self.hub._set_ref(rdir, "tags", tag, self._rev(rdir, rev))
        self._json({})

    def _writable_branch(self, repo_type: str, repo_id: str, rev: str) -> tuple[Path, str]:
        if self.query.get("create_pr"):
            raise HubError(400, "LocalHub does not support pull requests (create_pr)")
        rdir, _ = self._open_repo(repo_type, repo_id, write=True)
        if rev not in self.hub._refs(rdir)["branches"]:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return rdir, self.hub._refs(rdir)["branches"][rev]

    def _preupload(self, repo_type: str, repo_id: str, rev: str) -> None:
        rdir, head = self._writable_branch(repo_type, repo_id, rev)
        remote = self.hub._commit(rdir, head)["files"]
        attributes = self.hub.blob(remote[".gitattributes"]["blob"]).decode() if ".gitattributes" in remote else ""
        patterns = lfs_patterns(attributes)
        out = []
        for f in self._payload().get("files", []):
            sample, size = base64.b64decode(f.get("sample", "")), int(f.get("size", 0))
            lfs = size > 0 and (matches_lfs(f["path"], patterns) or size >= LFS_SIZE_THRESHOLD or looks_binary(sample))
            entry = remote.get(f["path"])
            oid = self.hub._etag(entry) if entry else None  # lets the client skip unchanged files
            out.append(
                {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
            )
        self._json({"files": out, "commitOid": head})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._open_repo(repo_type, repo_id, write=True)
        body = self._payload()
        if body.get("operation") != "upload":
            raise HubError(400, "LocalHub only supports the LFS 'upload' operation")
        objects = []
        for obj in body.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            if not re.fullmatch(r"[0-9a-f]{64}", oid):
                objects.append({"oid": oid, "size": size, "error": {"code": 422, "message": "Invalid oid"}})
            elif self.hub._has_blob(oid, size):
                objects.append({"oid": oid, "size": size})  # no actions: already stored
            else:
                sig = self.hub._lfs_sig(oid, size)
                base = f"{self.hub.endpoint}/_lfs"
                objects.append(
                    {
                        "oid": oid,
                        "size": size,
                        "authenticated": True,
                        "actions": {
                            "upload": {"href": f"{base}/upload/{oid}?size={size}&sig={sig}", "expires_in": 3600},
                            "verify": {"href": f"{base}/verify/{oid}?size={size}&sig={sig}", "expires_in": 3600},
                        },
                    }
                )
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(), "application/vnd.git-lfs+json")

    def _check_lfs_sig(self, oid: str) -> int:
        size = int(self.query.get("size", -1))
        if not hmac.compare_digest(self.query.get("sig", ""), self.hub._lfs_sig(oid, size)):
            raise HubError(403, "Invalid or missing LFS URL signature")
        return size

    def _lfs_put(self, oid: str) -> None:
        size = self._check_lfs_sig(oid)
        if len(self.body) != size or hashlib.sha256(self.body).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid} / size {size}")
        self.hub._put_blob(self.body)
        self._send(200, headers={"ETag": f'"{oid}"'})

    def _lfs_verify(self, oid: str) -> None:
        size = self._check_lfs_sig(oid)
        if not self.hub._has_blob(oid, size):
            raise HubError(404, f"LFS object {oid} was not uploaded")
        self._json({"success": True})

    def _commit(self, repo_type: str, repo_id: str, rev: str) -> None:
        lines = [json.loads(line) for line in self.body.decode().splitlines() if line.strip()]
        header = next((ln["value"] for ln in lines if ln.get("key") == "header"), None)
        if header is None or not header.get("summary"):
            raise HubError(400, "The commit needs a header line with a summary")
        with self.hub._lock:  # atomic: check the parent, write blobs, manifest, then the ref
            rdir, head = self._writable_branch(repo_type, repo_id, rev)
            parent = header.get("parentCommit")
            if parent and parent != head:
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(self.hub._commit(rdir, head)["files"])
            for line in lines:
                key, value = line.get("key"), line.get("value", {})
                path = value.get("path", "").strip("/")
                if key == "file":
                    if value.get("encoding", "base64") != "base64":
                        raise HubError(400, f"Unsupported encoding for {path}")
                    files[path] = self.hub._file_entry(base64.b64decode(value["content"]))
                elif key == "lfsFile":
                    if value.get("algo", "sha256") != "sha256":
                        raise HubError(400, f"Unsupported LFS algo for {path}")
                    if not self.hub._has_blob(value["oid"], int(value["size"])):
                        raise HubError(422, f"LFS object {value['oid']} for '{path}' was never uploaded")
                    files[path] = {"blob": value["oid"], "size": int(value["size"]), "lfs": True}
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                elif key == "deletedFolder":
                    doomed = [p for p in files if p.startswith(path + "/")]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in doomed:
                        del files[p]
                elif key != "header":
                    raise HubError(400, f"LocalHub does not support commit operation {key!r}")
            author = self.principal.user if self.principal else "anonymous"
            cid = self.hub._commit_files(
                rdir, repo_id, head, files, header["summary"], header.get("description", ""), author, rev
            )
        url = f"{self.hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}/commit/{cid}"
        self._json({"commitOid": cid, "commitUrl": url, "pullRequestUrl": None, "success": True})


# ------------------------------------------------------------------------- client in a subprocess
HUB_ENV_REMOVE = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "TRANSFORMERS_CACHE",
    "HF_XET_CACHE",
    "HF_ASSETS_CACHE",
    "HF_TOKEN_PATH",
    "HF_STORED_TOKENS_PATH",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN",
)


def hub_env(endpoint: str, hf_home, token: str | None, **extra: str) -> dict[str, str]:
    """os.environ pointed at a LocalHub (HF_ENDPOINT, HF_HOME, HF_TOKEN), with Xet, telemetry,
    update checks and progress bars off, offline mode unset. `token=None` means no HF_TOKEN."""
    env = {k: v for k, v in os.environ.items() if k not in HUB_ENV_REMOVE and k != "HF_TOKEN"}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra)
    return env


def run_with_hub_env(
    code: str,
    endpoint: str,
    hf_home,
    token: str | None,
    *,
    timeout: float = 180,
    cwd=None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run `python -c code` (dedented) in a fresh interpreter whose real huggingface_hub /
    transformers talk to `endpoint`. Returns the CompletedProcess (text stdout/stderr captured)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=hub_env(endpoint, hf_home, token, **(extra_env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


if __name__ == "__main__":  # manual use: python tests/hub_server.py ROOT [PORT]
    root = sys.argv[1] if len(sys.argv) > 1 else "hub-data"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with LocalHub(root, tokens={"hf_local": ("user", [], "write")}, port=port) as hub:
        print(f"LocalHub at {hub.endpoint}  (token: hf_local, user: user)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
