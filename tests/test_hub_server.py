"""Tests of the local Hub emulator (tests/hub_server.py), driven by the real clients in subprocesses."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import pytest
from hub_server import COMMIT_ID, LocalHub, git_blob_sha1, run_with_hub_env

ALICE = "hf_alice_write"  # alice, member of org "org", write role
ALICE_RO = "hf_alice_read"
BOB = "hf_bob_write"  # bob, no orgs
TOKENS = {ALICE: ("alice", ["org"], "write"), ALICE_RO: ("alice", ["org"], "read"), BOB: ("bob", [], "write")}

PRELUDE = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
api = HfApi()
def out(**kw):
    print("RESULT " + json.dumps(kw))
def error_of(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        return {"type": type(e).__name__, "status": status, "msg": str(e)}
    return None
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with LocalHub(tmp_path_factory.mktemp("hub"), tokens=TOKENS) as h:
        yield h


def client(hub, tmp_path, code: str, token: str | None = ALICE, home: str = "hf_home") -> dict:
    """Run PRELUDE + code against the hub in a fresh interpreter; return the dict given to out()."""
    proc = run_with_hub_env(PRELUDE + code, hub.endpoint, tmp_path / home, token)
    assert proc.returncode == 0, f"client failed:\n{proc.stdout}\n{proc.stderr}"
    results = [line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert results, proc.stdout + proc.stderr
    assert not hub.unhandled, hub.unhandled
    return json.loads(results[-1])


def test_create_upload_download(hub, tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"a": 1}\n')
    (folder / "sub" / "notes.txt").write_text("hello\n")
    weights = os.urandom(3000)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "blob.dat").write_bytes(b"\0\1\2" * 100)  # binary sample => LFS despite the name

    code = f"""
url = api.create_repo("org/demo")
again = api.create_repo("org/demo", exist_ok=True)
dup = error_of(api.create_repo, "org/demo")
first = api.upload_folder(repo_id="org/demo", folder_path={str(folder)!r})
second = api.upload_folder(repo_id="org/demo", folder_path={str(folder)!r})
info = api.model_info("org/demo", files_metadata=True)
lfs = {{s.rfilename: (s.lfs.sha256 if s.lfs else None) for s in info.siblings}}
out(url=url, again=again, repo_id=url.repo_id, dup=dup, first=first.oid, second=second.oid, sha=info.sha,
    files=sorted(api.list_repo_files("org/demo")), lfs=lfs)
"""
    res = client(hub, tmp_path, code)
    assert res["url"] == res["again"] == f"{hub.endpoint}/org/demo"
    assert res["repo_id"] == "org/demo"
    assert res["dup"]["status"] == 409
    assert COMMIT_ID.match(res["first"])
    assert res["second"] == res["first"] == res["sha"] == hub.ref("org/demo")  # identical upload: no commit
    assert len(hub.commits("org/demo")) == 2  # initial .gitattributes commit + the upload
    expected = [".gitattributes", "blob.dat", "config.json", "model.safetensors", "sub/notes.txt"]
    assert res["files"] == expected
    assert res["lfs"]["model.safetensors"] and res["lfs"]["blob.dat"] and res["lfs"]["config.json"] is None
    files = hub.repo_files("org/demo")
    assert files["model.safetensors"] == weights and files["sub/notes.txt"] == b"hello\n"
    assert b"*.safetensors filter=lfs" in files[".gitattributes"]
    puts = sorted(p.split("?")[0] for m, p, _ in hub.requests if m == "PUT")  # LFS went through the batch API
    assert puts == sorted(f"/_lfs/upload/{res['lfs'][f]}" for f in ("blob.dat", "model.safetensors"))

    # Anonymous download into a fresh cache: hf_hub_download, snapshot_download, listing.
    code = """
p = hf_hub_download("org/demo", "sub/notes.txt")
snap = snapshot_download("org/demo")
missing = error_of(hf_hub_download, "org/demo", "nope.txt")
bad_rev = error_of(hf_hub_download, "org/demo", "config.json", revision="nope")
out(notes=open(p).read(), snap=snap, snap_files=sorted(
    os.path.relpath(os.path.join(d, f), snap) for d, _, fs in os.walk(snap) for f in fs),
    missing=missing, bad_rev=bad_rev)
"""
    res = client(hub, tmp_path, code, token=None, home="anon_home")
    assert res["notes"] == "hello\n"
    assert res["snap_files"] == expected
    assert (Path(res["snap"]) / "model.safetensors").read_bytes() == weights
    assert res["missing"]["type"] == "RemoteEntryNotFoundError"
    assert res["bad_rev"]["type"] == "RevisionNotFoundError"


def test_branches_and_revisions(hub, tmp_path):
    code = """
api.create_repo("alice/branchy")
api.upload_file(repo_id="alice/branchy", path_or_fileobj=b"v1", path_in_repo="f.txt")
main_before = api.model_info("alice/branchy").sha
api.create_branch("alice/branchy", branch="dev")
api.create_branch("alice/branchy", branch="feature/x", revision=main_before)
exists = error_of(api.create_branch, "alice/branchy", branch="dev")
api.create_branch("alice/branchy", branch="dev", exist_ok=True)
dev = api.upload_file(repo_id="alice/branchy", path_or_fileobj=b"v2", path_in_repo="f.txt", revision="dev")
api.upload_file(repo_id="alice/branchy", path_or_fileobj=b"x", path_in_repo="x.txt", revision="feature/x")
x_files = api.list_repo_files("alice/branchy", revision="feature/x")
api.create_tag("alice/branchy", tag="v1.0", revision=main_before)
api.delete_file("x.txt", "alice/branchy", revision="feature/x")
api.upload_file(repo_id="alice/branchy", path_or_fileobj=b"y", path_in_repo="d/y.txt", revision="feature/x")
api.delete_folder("d", "alice/branchy", revision="feature/x")
stale = error_of(api.upload_file, repo_id="alice/branchy", path_or_fileobj=b"z", path_in_repo="z.txt",
                 revision="feature/x", parent_commit=main_before)
gone = error_of(api.delete_file, "nope.txt", "alice/branchy", revision="feature/x")
refs = api.list_repo_refs("alice/branchy")
out(main_before=main_before, main_after=api.model_info("alice/branchy").sha, dev=dev.oid,
    dev_file=open(hf_hub_download("alice/branchy", "f.txt", revision="dev")).read(),
    main_file=open(hf_hub_download("alice/branchy", "f.txt")).read(),
    x_files=x_files,
    tag_file=open(hf_hub_download("alice/branchy", "f.txt", revision="v1.0")).read(),
    branches=sorted(b.name for b in refs.branches), tags=[t.name for t in refs.tags],
    dev_commits=[c.commit_id for c in api.list_repo_commits("alice/branchy", revision="dev")],
    titles=[c.title for c in api.list_repo_commits("alice/branchy")], exists=exists, stale=stale, gone=gone,
    x_after=api.list_repo_files("alice/branchy", revision="feature/x"))
"""
    res = client(hub, tmp_path, code)
    assert res["main_after"] == res["main_before"] == hub.ref("alice/branchy")  # main untouched
    assert res["dev"] == hub.ref("alice/branchy", "dev") != res["main_before"]
    assert (res["dev_file"], res["main_file"], res["tag_file"]) == ("v2", "v1", "v1")
    assert sorted(res["x_files"]) == [".gitattributes", "f.txt", "x.txt"]
    assert sorted(res["x_after"]) == [".gitattributes", "f.txt"]  # deleted file and folder
    assert res["stale"]["status"] == 412 and res["gone"]["type"] == "RemoteEntryNotFoundError"
    assert res["branches"] == ["dev", "feature/x", "main"] and res["tags"] == ["v1.0"]
    assert res["dev_commits"] == hub.commits("alice/branchy", "dev") and len(res["dev_commits"]) == 3
    assert res["titles"] == ["Upload f.txt with huggingface_hub", "initial commit"]
    assert res["exists"]["status"] == 409
    assert hub.repo_files("alice/branchy", "dev")["f.txt"] == b"v2"


def test_auth(hub, tmp_path):
    hub.create_repo("org/secret", private=True)
    hub.create_repo("bob/public")
    code = """
out(anon_create=error_of(api.create_repo, "org/anon"),
    anon_upload=error_of(api.upload_file, repo_id="bob/public", path_or_fileobj=b"x", path_in_repo="x"),
    anon_private=error_of(hf_hub_download, "org/secret", ".gitattributes"),
    anon_info=error_of(api.model_info, "org/secret"),
    anon_public=open(hf_hub_download("bob/public", ".gitattributes")).read()[:13])
"""
    res = client(hub, tmp_path, code, token=None)
    assert res["anon_create"]["status"] == 401 and "no token sent" in res["anon_create"]["msg"]
    assert res["anon_upload"]["status"] == 401
    assert res["anon_private"]["type"] == "RepositoryNotFoundError" and res["anon_private"]["status"] == 401
    assert res["anon_info"]["type"] == "RepositoryNotFoundError"
    assert res["anon_public"] == "*.7z filter=l"

    code = """
out(other_ns=error_of(api.create_repo, "org/bobs"),
    other_upload=error_of(api.upload_file, repo_id="org/secret", path_or_fileobj=b"x", path_in_repo="x"),
    private=error_of(api.model_info, "org/secret"),
    whoami=api.whoami()["name"], tmp=api.create_repo("tmp").repo_id, deleted=api.delete_repo("bob/tmp"))
"""
    res = client(hub, tmp_path, code, token=BOB)
    assert res["other_ns"]["status"] == 403
    assert "You don't have the rights to write in namespace 'org'" in res["other_ns"]["msg"]
    assert res["other_upload"]["type"] == "RepositoryNotFoundError"  # private: looks missing to bob
    assert res["private"]["type"] == "RepositoryNotFoundError" and res["private"]["status"] == 404
    assert res["whoami"] == "bob" and res["tmp"] == "bob/tmp" and hub.ref("bob/tmp") is None

    code = """
out(read_only=error_of(api.upload_file, repo_id="org/secret", path_or_fileobj=b"x", path_in_repo="x"),
    private_ok=api.model_info("org/secret").private)
"""
    res = client(hub, tmp_path, code, token=ALICE_RO)
    assert res["read_only"]["status"] == 403 and "does not have write access" in res["read_only"]["msg"]
    assert res["private_ok"] is True

    res = client(hub, tmp_path, 'out(bad=error_of(api.model_info, "bob/public"))', token="hf_unknown")
    assert res["bad"]["status"] == 401 and "Invalid credentials" in res["bad"]["msg"]
    assert len(hub.commits("org/secret")) == 1 and len(hub.commits("bob/public")) == 1  # nothing written


def test_raw_http_keepalive_head_range(hub):
    """Errors drain the body on a kept-alive connection; HEAD and errors carry Content-Length."""
    hub.create_repo("org/raw")
    gitattributes = hub.repo_files("org/raw")[".gitattributes"]
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
    body = json.dumps({"files": [{"path": "a.txt", "sample": "", "size": 0}]})
    conn.request("POST", "/api/models/org/raw/preupload/main", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 401 and resp.getheader("Content-Length") == str(len(resp.read()))
    conn.request("HEAD", "/org/raw/resolve/main/.gitattributes")  # same connection
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and resp.getheader("Content-Length") == str(len(gitattributes))
    assert resp.getheader("ETag") == f'"{git_blob_sha1(gitattributes)}"'
    assert resp.getheader("X-Repo-Commit") == hub.ref("org/raw")
    conn.request("GET", "/org/raw/resolve/main/.gitattributes", headers={"Range": "bytes=3-9"})
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (206, gitattributes[3:10])
    assert resp.getheader("Content-Range") == f"bytes 3-9/{len(gitattributes)}"
    conn.request("HEAD", "/org/raw/resolve/main/missing.bin")
    resp = conn.getresponse()
    resp.read()
    assert (resp.status, resp.getheader("X-Error-Code")) == (404, "EntryNotFound")
    assert resp.getheader("Content-Length") is not None
    conn.request("GET", "/api/models/org/raw/revision/feature%2Fnope")
    resp = conn.getresponse()
    resp.read()
    assert (resp.status, resp.getheader("X-Error-Code")) == (404, "RevisionNotFound")
    conn.close()


def test_transformers_roundtrip(hub, tmp_path):
    """push_to_hub in one interpreter, from_pretrained in another with an empty cache."""
    saved = tmp_path / "state.pt"
    code = f"""
import torch
from transformers import BertConfig, BertModel
torch.manual_seed(0)
cfg = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, vocab_size=99)
model = BertModel(cfg)
url = model.push_to_hub("org/tiny-bert")
torch.save(model.state_dict(), {str(saved)!r})
out(url=url)
"""
    res = client(hub, tmp_path, code, home="push_home")
    assert res["url"].startswith(f"{hub.endpoint}/org/tiny-bert/commit/")
    files = hub.repo_files("org/tiny-bert")
    assert {"config.json", "model.safetensors", "README.md", ".gitattributes"} <= set(files)

    code = f"""
import torch
from transformers import AutoModel
loaded = AutoModel.from_pretrained("org/tiny-bert")
a, b = torch.load({str(saved)!r}), loaded.state_dict()
out(same_keys=sorted(a) == sorted(b), same=all(torch.equal(a[k], b[k]) for k in a), cls=type(loaded).__name__)
"""
    res = client(hub, tmp_path, code, token=None, home="load_home")
    assert res == {"same_keys": True, "same": True, "cls": "BertModel"}
