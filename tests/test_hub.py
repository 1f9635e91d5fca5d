"""Hub round trip against the local Hub in tests/hub_server.py, over real HTTP with the real clients: push with
`u2net_hf.hub.push_to_hub` and `u2net-hf push`, then load by repo id in fresh interpreters with fresh caches.

huggingface_hub reads HF_ENDPOINT at import, and this test process runs with HF_HUB_OFFLINE=1, so every Hub client
runs in a subprocess. Starting one costs seconds (torch + transformers), hence three scenario scripts, each run once
per module, that record every check into a JSON report; the tests below assert on the reports and on the Hub's
stored repos. The scripts take their inputs from a JSON file named by $HUB_TEST_PARAMS."""

import json
import threading
from pathlib import Path

import huggingface_hub
import numpy as np
import PIL.Image
import pytest
import torch
from conftest import TINY_STAGES
from foreign_layouts import random_checkpoint
from hub_server import LocalHub, _Handler, run_with_hub_env
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from transformers import pipeline

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetImageProcessor, U2NetModel
from u2net_hf.cli import main
from u2net_hf.conversion.convert_upstream_u2net_to_pytorch import expected_shapes
from u2net_hf.hub import check_destination, preset_of, save_for_hub, save_model_folder, stale_files
from u2net_hf.pretrained import PRETRAINED_VARIANTS, WEIGHTS_DIR
from u2net_hf.registration import REMOTE_CODE_FILES

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKENS = {
    "hf_alice_write": ("alice", ["org", "u2net-hf"], "write"),
    "hf_bob_read": ("bob", ["org"], "read"),
}
REPOS = {
    "main": "org/u2net-lite",
    "code": "org/u2net-lite-code",
    "hub_lite": "org/hub-lite",
    "default_full": PRETRAINED_VARIANTS["u2net-full"].repo_id,
    "transformers": "org/transformers-pushed",
    "no_weights": "org/no-weights",
    "cli": "org/cli-pushed",
    "no_token": "org/no-token",
    "foreign": "someone-else/u2net-lite",
    "interrupted": "org/interrupted",
    "pickled": "org/had-pickled-weights",
    "converted": "org/converted",
}
# Different random weights per repo, so that a load that resolves to the wrong repo or revision is caught.
SEEDS = {"main": 0, "dev": 1, "hub_lite": 2, "full": 3, "transformers": 4}
MODEL_FILES = {".gitattributes", "README.md", "config.json", "model.safetensors", "preprocessor_config.json"}
PROCESSOR_SIZE = {"height": 64, "width": 64}

# ----------------------------------------------------------------------------------------------- scripts
PREAMBLE = """
import json, os, sys, traceback
import torch
torch.set_num_threads(1)
PARAMS = json.loads(open(os.environ["HUB_TEST_PARAMS"]).read())
F, R, E = PARAMS["folders"], PARAMS["repos"], PARAMS["expected"]
RESULTS = {}

def record(fn):
    # Run one check now; keep going after a failure so that each test reports its own.
    try:
        RESULTS[fn.__name__] = {"ok": True, **(fn() or {})}
    except Exception as error:
        RESULTS[fn.__name__] = {"ok": False, "error": f"{type(error).__name__}: {error}",
                                "traceback": traceback.format_exc()[-3000:]}
    return fn

def describe_error(call):
    # How an expected failure surfaces: its type and message, and whether the raising frame is our code.
    try:
        call()
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
        return {"raised": True, "type": type(error).__name__, "is_oserror": isinstance(error, OSError),
                "message": str(error), "raised_in_u2net_hf": "u2net_hf" in frames[-1].filename}
    return {"raised": False}

def max_abs_diff(actual, expected):
    import numpy as np
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.abs(actual - expected).max()) if actual.shape == expected.shape else float("inf")
"""

FINISH = """
json.dump(RESULTS, open(PARAMS["results"], "w"), indent=1)
"""

PUSH_SCRIPT = """
import contextlib, io, socket, time
from huggingface_hub import HfApi
from u2net_hf import U2NetForImageSegmentation, U2NetImageProcessor
from u2net_hf.cli import main
from u2net_hf.hub import push_to_hub

def cli(*argv, **env):
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update({key: value for key, value in env.items() if value is not None})
    for key in [key for key, value in env.items() if value is None]:
        os.environ.pop(key, None)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["push", *argv])
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}

@record
def main_push():
    return {"oid": push_to_hub(F["main"], R["main"], commit_message="Add tiny U2-Net").oid}

@record
def unchanged_push():
    return {"oid": push_to_hub(F["main"], R["main"]).oid}

@record
def dev_push():
    return {"oid": push_to_hub(F["dev"], R["main"], revision="dev").oid}

@record
def remote_code_push():
    return {"oid": push_to_hub(F["main"], R["code"], with_code=True).oid}

@record
def torch_hub_pushes():
    push_to_hub(F["hub_lite"], R["hub_lite"])
    push_to_hub(F["full"], R["default_full"])

@record
def transformers_push():
    # transformers' own methods, one commit each.
    U2NetForImageSegmentation.from_pretrained(F["transformers"]).push_to_hub(R["transformers"])
    U2NetImageProcessor.from_pretrained(F["transformers"]).push_to_hub(R["transformers"])

@record
def no_weights_repo():
    api = HfApi()
    api.create_repo(R["no_weights"])
    api.upload_file(path_or_fileobj=os.path.join(F["main"], "config.json"), path_in_repo="config.json",
                    repo_id=R["no_weights"])

@record
def pickled_weights_replaced():
    # An earlier upload left pickled weights and code files; the push's single commit removes them.
    api = HfApi()
    api.create_repo(R["pickled"])
    for name in ("pytorch_model.bin", "modeling_u2net.py"):
        api.upload_file(path_or_fileobj=b"stale", path_in_repo=name, repo_id=R["pickled"])
    before = [c.commit_id for c in api.list_repo_commits(R["pickled"])]
    return {"before": before, "oid": push_to_hub(F["main"], R["pickled"]).oid}

@record
def cli_push():
    return cli(F["main"], R["cli"], "--private", "--commit-message", "Fine-tuned on portraits", "--base-model",
               R["main"], "--dataset", "org/portraits", "--metric", "mae=0.031", "--metric", "max_f=0.9")

@record
def cli_without_token():
    return cli(F["main"], R["no_token"], HF_TOKEN=None)

@record
def cli_with_invalid_token():
    return cli(F["main"], R["no_token"], "--token", "hf_not_a_token")

@record
def cli_with_read_only_token():
    return cli(F["dev"], R["main"], "--token", "hf_bob_read")

@record
def cli_foreign_namespace():
    return {**cli(F["main"], R["foreign"]),
            "library": describe_error(lambda: push_to_hub(F["main"], R["foreign"]))}

@record
def cli_convert_and_push():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["convert", PARAMS["upstream_checkpoint"], PARAMS["converted_folder"], "--push-to-hub",
                   R["converted"]])
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}

def wait_for_hub(timeout=30):
    host, port = PARAMS["endpoint"].removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1):
            return True
        time.sleep(0.2)
    return False

@record
def interrupted_push():
    first = cli(F["main"], R["interrupted"])
    interrupted = cli(F["dev"], R["interrupted"])  # the Hub dies while receiving this commit
    back = wait_for_hub()
    commits_after_failure = [c.commit_id for c in HfApi().list_repo_commits(R["interrupted"])]
    retry = cli(F["dev"], R["interrupted"])
    return {"first": first, "interrupted": interrupted, "hub_back": back,
            "commits_after_failure": commits_after_failure, "retry": retry}
"""

LOAD_SCRIPT = """
import re
import numpy as np
from PIL import Image
import u2net_hf
from huggingface_hub import hf_hub_download
from transformers import AutoImageProcessor, AutoModel, AutoModelForImageSegmentation, pipeline

pixel_values = torch.from_numpy(np.load(E["pixel_values"]))
image = Image.open(E["image"])

def logits_of(model):
    with torch.no_grad():
        return model(pixel_values).logits.numpy()

@record
def auto_model_for_image_segmentation():
    model = AutoModelForImageSegmentation.from_pretrained(R["main"])
    return {"class": type(model).__name__, "max_abs_diff": max_abs_diff(logits_of(model), np.load(E["main"]))}

@record
def auto_model():
    model = AutoModel.from_pretrained(R["main"])  # the network that makes masks, not the bare encoder-decoder
    bare = u2net_hf.U2NetModel.from_pretrained(R["main"])
    with torch.no_grad():
        hidden = bare(pixel_values).last_hidden_state.numpy()
    return {"class": type(model).__name__, "max_abs_diff": max_abs_diff(logits_of(model), np.load(E["main"])),
            "bare_max_abs_diff": max_abs_diff(hidden, np.load(E["main_hidden"]))}

@record
def auto_image_processor():
    processor = AutoImageProcessor.from_pretrained(R["main"])
    local = u2net_hf.U2NetImageProcessor.from_pretrained(F["main"])
    return {"class": type(processor).__name__, "same_config": {k: v for k, v in processor.to_dict().items() if k != "auto_map"} == local.to_dict(),
            "max_abs_diff": max_abs_diff(processor(image, return_tensors="np")["pixel_values"],
                                         np.load(E["image_pixel_values"]))}

@record
def image_segmentation_pipeline():
    annotations = pipeline("image-segmentation", model=R["main"])(image, threshold=0.0)
    masks = np.stack([np.asarray(a["mask"]) for a in annotations]) if annotations else np.zeros((0,))
    return {"labels": [a["label"] for a in annotations], "max_abs_diff": max_abs_diff(masks, np.load(E["masks"]))}

@record
def revision_branch():
    model = AutoModelForImageSegmentation.from_pretrained(R["main"], revision="dev")
    return {"max_abs_diff": max_abs_diff(logits_of(model), np.load(E["dev"]))}

@record
def revision_commit():
    # The branch has moved on to the "dev" weights; the pinned commit still holds the "main" ones.
    head = AutoModelForImageSegmentation.from_pretrained(R["interrupted"])
    pinned = AutoModelForImageSegmentation.from_pretrained(R["interrupted"], revision=PARAMS["pinned_commit"])
    return {"head_vs_dev": max_abs_diff(logits_of(head), np.load(E["dev"])),
            "pinned_vs_main": max_abs_diff(logits_of(pinned), np.load(E["main"]))}

@record
def load_model_api():
    from u2net_hf.pretrained import load_image_processor, load_model
    model = load_model(R["main"], revision="dev")
    return {"max_abs_diff": max_abs_diff(logits_of(model), np.load(E["dev"])),
            "processor_size": load_image_processor(R["main"]).size}

@record
def transformers_pushed():
    model = AutoModelForImageSegmentation.from_pretrained(R["transformers"])
    return {"max_abs_diff": max_abs_diff(logits_of(model), np.load(E["transformers"])),
            "processor_size": AutoImageProcessor.from_pretrained(R["transformers"]).size}

@record
def torch_hub():
    load = lambda name, **kwargs: torch.hub.load(PARAMS["repo_root"], name, source="local", pretrained=True, **kwargs)
    lite = [load("u2net_lite", repo_id=R["hub_lite"]) for _ in range(2)]
    full = [load("u2net_full") for _ in range(2)]  # the default repo id
    cache = os.path.join(os.environ["HF_HOME"], "hub")
    return {"lite": [max_abs_diff(logits_of(m), np.load(E["hub_lite"])) for m in lite],
            "full": [max_abs_diff(logits_of(m), np.load(E["full"])) for m in full],
            "cached_repos": sorted(name for name in os.listdir(cache) if name.startswith("models--"))}

@record
def model_card_instructions():
    # Run the card's own snippets (all but torch.hub, which would fetch the code from GitHub).
    card = open(hf_hub_download(R["main"], "README.md")).read()
    blocks = [b for b in re.findall(r"```python\\n(.*?)```", card, re.S) if "torch.hub.load" not in b]
    namespaces = []
    for block in blocks:
        namespace = {}
        exec(block, namespace)
        namespaces.append(namespace)
    return {"blocks": len(blocks), "mask_shape": list(namespaces[0]["mask"].shape),
            "segments": [s["label"] for s in namespaces[1]["segments"]]}

@record
def missing_repo():
    return describe_error(lambda: AutoModelForImageSegmentation.from_pretrained("org/missing"))

@record
def missing_revision():
    return describe_error(lambda: AutoModelForImageSegmentation.from_pretrained(R["main"], revision="no-such-branch"))

@record
def repo_without_weights():
    return describe_error(lambda: AutoModelForImageSegmentation.from_pretrained(R["no_weights"]))

@record
def private_repo_without_token():
    return describe_error(lambda: AutoModelForImageSegmentation.from_pretrained(R["cli"]))

@record
def missing_repo_through_load_model():
    from u2net_hf.pretrained import load_model
    return describe_error(lambda: load_model("org/missing"))
"""

# Installed before anything else runs (sitecustomize): `import u2net_hf` fails as if the package were absent.
HIDE_U2NET_HF = """
import sys

class HideU2NetHF:
    def find_spec(self, name, path=None, target=None):
        if name == "u2net_hf" or name.startswith("u2net_hf."):
            raise ImportError("u2net_hf is hidden for this test")
        return None

sys.meta_path.insert(0, HideU2NetHF())
"""

REMOTE_CODE_SCRIPT = """
import numpy as np
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, AutoModelForImageSegmentation, pipeline

try:
    import u2net_hf
    RESULTS["u2net_hf_importable"] = True
except ImportError:
    RESULTS["u2net_hf_importable"] = False
pixel_values = torch.from_numpy(np.load(E["pixel_values"]))
image = Image.open(E["image"])

@record
def remote_model():
    model = AutoModelForImageSegmentation.from_pretrained(R["code"], trust_remote_code=True)
    with torch.no_grad():
        logits = model(pixel_values).logits.numpy()
    auto = AutoModel.from_pretrained(R["code"], trust_remote_code=True)
    return {"module": type(model).__module__, "auto_model_class": type(auto).__name__,
            "max_abs_diff": max_abs_diff(logits, np.load(E["main"]))}

@record
def remote_processor():
    processor = AutoImageProcessor.from_pretrained(R["code"], trust_remote_code=True)
    return {"module": type(processor).__module__,
            "max_abs_diff": max_abs_diff(processor(image, return_tensors="np")["pixel_values"],
                                         np.load(E["image_pixel_values"]))}

@record
def remote_pipeline():
    annotations = pipeline("image-segmentation", model=R["code"], trust_remote_code=True)(image, threshold=0.0)
    masks = np.stack([np.asarray(a["mask"]) for a in annotations]) if annotations else np.zeros((0,))
    return {"max_abs_diff": max_abs_diff(masks, np.load(E["masks"]))}
"""


# ---------------------------------------------------------------------------------------------- fixtures
class DieOnCommit:
    """Fault injection: the Hub dies while receiving the `nth` commit to `repo_id`. It drops that request without
    an answer, stops listening, and comes back on the same port (same storage) a second later."""

    def __init__(self, repo_id: str, nth: int):
        self.repo_id, self.nth, self.seen, self.dropped = repo_id, nth, 0, 0
        self.original = _Handler._commit

    def __call__(self, handler, repo_type, repo_id, rev):
        if repo_id == self.repo_id:
            self.seen += 1
            if self.seen == self.nth:
                self.dropped += 1
                handler.hub.stop()
                threading.Timer(1.0, handler.hub.start).start()
                handler.close_connection = True  # no answer: the client sees the connection close
                return None
        return self.original(handler, repo_type, repo_id, rev)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hub-round-trip")


@pytest.fixture(scope="module")
def fault():
    fault = DieOnCommit(REPOS["interrupted"], nth=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Handler, "_commit", lambda handler, *args: fault(handler, *args))
        yield fault


@pytest.fixture(scope="module")
def hub(workdir, fault):
    with LocalHub(workdir / "hub", tokens=TOKENS) as hub:
        yield hub


def save_tiny_folder(folder: Path, seed: int) -> U2NetForImageSegmentation:
    torch.manual_seed(seed)
    model = U2NetForImageSegmentation(U2NetConfig(**TINY_STAGES)).eval()
    model.save_pretrained(folder)
    U2NetImageProcessor(size=PROCESSOR_SIZE).save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def folders(workdir):
    return {name: workdir / "models" / name for name in SEEDS}


@pytest.fixture(scope="module")
def expected(workdir, folders):
    """Outputs computed here, from the local folders, that every Hub load must reproduce exactly."""
    out = workdir / "expected"
    out.mkdir()
    # One thread, as in the scenario scripts: CPU kernels sum in a thread-count dependent order.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return compute_expected(out, folders)
    finally:
        torch.set_num_threads(threads)


def compute_expected(out: Path, folders: dict[str, Path]) -> dict[str, str]:
    torch.manual_seed(123)
    pixel_values = torch.randn(2, 3, 48, 40)
    np.save(out / "pixel_values.npy", pixel_values.numpy())
    paths = {"pixel_values": str(out / "pixel_values.npy")}
    for name, seed in SEEDS.items():
        model = save_tiny_folder(folders[name], seed)
        with torch.no_grad():
            np.save(out / f"{name}.npy", model(pixel_values).logits.numpy())
        paths[name] = str(out / f"{name}.npy")
    with torch.no_grad():
        hidden = U2NetModel.from_pretrained(folders["main"])(pixel_values).last_hidden_state
    np.save(out / "main_hidden.npy", hidden.numpy())
    rng = np.random.default_rng(0)
    image = PIL.Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8))
    image.save(out / "photo.png")
    processor = U2NetImageProcessor.from_pretrained(folders["main"])
    np.save(out / "image_pixel_values.npy", processor(image, return_tensors="np")["pixel_values"])
    annotations = pipeline("image-segmentation", model=str(folders["main"]))(image, threshold=0.0)
    assert annotations, "a threshold of 0 keeps the foreground of a random network"
    np.save(out / "masks.npy", np.stack([np.asarray(a["mask"]) for a in annotations]))
    for name in ("main_hidden", "image_pixel_values", "masks"):
        paths[name] = str(out / f"{name}.npy")
    paths["image"] = str(out / "photo.png")
    return paths


def run_scenario(name, script, hub, workdir, folders, expected, *, token=None, cwd=None, extra_env=None, **params):
    """Run a scenario script in a fresh interpreter pointed at `hub`, with its own empty HF_HOME; return its
    report."""
    params_path, results = workdir / f"{name}-params.json", workdir / f"{name}-results.json"
    params = {
        "folders": {key: str(path) for key, path in folders.items()},
        "repos": REPOS,
        "expected": expected,
        "endpoint": hub.endpoint,
        "results": str(results),
        "repo_root": str(REPO_ROOT),
        **params,
    }
    params_path.write_text(json.dumps(params))
    proc = run_with_hub_env(
        PREAMBLE + script + FINISH,
        hub.endpoint,
        hf_home=workdir / f"{name}-hf-home",
        token=token,
        timeout=300,
        cwd=cwd,
        extra_env={"HUB_TEST_PARAMS": str(params_path), **(extra_env or {})},
    )
    assert proc.returncode == 0 and results.exists(), proc.stderr[-5000:]
    return json.loads(results.read_text())


@pytest.fixture(scope="module")
def pushes(hub, workdir, folders, expected):
    upstream_checkpoint = workdir / "u2netp.pth"
    torch.save(random_checkpoint(expected_shapes("lite")), upstream_checkpoint)
    return run_scenario(
        "push",
        PUSH_SCRIPT,
        hub,
        workdir,
        folders,
        expected,
        token="hf_alice_write",
        upstream_checkpoint=str(upstream_checkpoint),
        converted_folder=str(workdir / "converted"),
    )


@pytest.fixture(scope="module")
def loads(pushes, hub, workdir, folders, expected):
    cwd = workdir / "load-cwd"
    cwd.mkdir()
    PIL.Image.open(expected["image"]).save(cwd / "photo.jpg")  # the file the model card's snippets open
    pinned = hub.commits(REPOS["interrupted"])[1]  # the first push, before the interrupted one
    return run_scenario("load", LOAD_SCRIPT, hub, workdir, folders, expected, cwd=cwd, pinned_commit=pinned)


@pytest.fixture(scope="module")
def remote_loads(pushes, hub, workdir, folders, expected):
    hide = workdir / "hide-u2net-hf"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_U2NET_HF)
    cwd = workdir / "remote-cwd"  # not the repo root, whose u2net_hf/ would be importable from the cwd
    cwd.mkdir()
    return run_scenario(
        "remote", REMOTE_CODE_SCRIPT, hub, workdir, folders, expected, cwd=cwd, extra_env={"PYTHONPATH": str(hide)}
    )


def check(report: dict, name: str) -> dict:
    result = report[name]
    assert result["ok"], result.get("traceback")
    return result


def stored_commit(hub: LocalHub, repo_id: str, commit_id: str) -> dict:
    """A commit as the Hub stores it (layout in hub_server's docstring)."""
    return json.loads((hub.root / "repos" / "models" / repo_id / "commits" / f"{commit_id}.json").read_text())


def assert_one_line_error(result: dict, *phrases: str) -> str:
    lines = result["stderr"].strip().splitlines()
    assert result["rc"] == 1 and len(lines) == 1, result
    assert lines[0].startswith("u2net-hf push: error: "), lines
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------- staging (no Hub needed)
def test_save_for_hub_stages_only_the_model_files(tmp_path, tiny_model):
    source = tmp_path / "run"
    tiny_model.save_pretrained(source)
    U2NetImageProcessor(size=PROCESSOR_SIZE).save_pretrained(source)
    torch.save({"step": 1}, source / "optimizer.pt")
    (source / "logs").mkdir()
    (source / "logs" / "events.txt").write_text("loss 0.1\n")
    staged = tmp_path / "staged"
    staged.mkdir()

    names = save_for_hub(source, staged, repo_id="org/u2net-lite")

    # The code goes by default (see push_to_hub): the repo then loads with transformers alone.
    assert names == sorted(
        ["README.md", "config.json", "model.safetensors", "preprocessor_config.json", *REMOTE_CODE_FILES]
    )
    assert (staged / "model.safetensors").read_bytes() == (source / "model.safetensors").read_bytes()
    for name in ("config.json", "preprocessor_config.json"):
        assert without_code_keys((staged / name).read_bytes()) == without_code_keys((source / name).read_bytes()), name
    assert sorted(path.name for path in source.iterdir()) == [
        "config.json",
        "logs",
        "model.safetensors",
        "optimizer.pt",
        "preprocessor_config.json",
    ], "the source folder is left as it was"


def test_save_for_hub_model_object_with_code(tmp_path, tiny_model):
    staged = tmp_path / "staged"
    staged.mkdir()
    names = save_for_hub(tiny_model, staged, repo_id="org/x", with_code=True)
    assert set(names) == MODEL_FILES - {".gitattributes"} | set(REMOTE_CODE_FILES)
    config = json.loads((staged / "config.json").read_text())
    assert config["auto_map"]["AutoModelForImageSegmentation"] == "modeling_u2net.U2NetForImageSegmentation"
    assert "trust_remote_code=True" in (staged / "README.md").read_text()
    reloaded = load_file(staged / "model.safetensors")
    assert all(torch.equal(reloaded[key], value) for key, value in tiny_model.state_dict().items())


def test_generated_card_carries_the_metadata(tmp_path, tiny_model):
    staged = tmp_path / "staged"
    staged.mkdir()
    save_for_hub(
        tiny_model,
        staged,
        repo_id="org/finetuned",
        base_model="u2net-hf/u2net-lite",
        datasets=["org/portraits"],
        metrics={"mae": 0.031},
    )
    card = ModelCard((staged / "README.md").read_text())
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "image-segmentation"
    assert card.data.license == "apache-2.0"
    assert card.data.base_model == "u2net-hf/u2net-lite" and card.data.datasets == ["org/portraits"]
    assert card.data.metrics == ["mae"] and "| mae | 0.031 |" in card.text
    assert 'from_pretrained("org/finetuned", trust_remote_code=True)' in card.text


def test_existing_card_is_kept_unless_card_options_are_given(tmp_path, tiny_model):
    source = tmp_path / "converted"
    tiny_model.save_pretrained(source)
    (source / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Written by hand\n")
    kept, regenerated = tmp_path / "kept", tmp_path / "regenerated"
    kept.mkdir()
    regenerated.mkdir()
    save_for_hub(source, kept, repo_id="org/x")
    save_for_hub(source, regenerated, repo_id="org/x", metrics={"mae": 0.05})
    assert (kept / "README.md").read_bytes() == (source / "README.md").read_bytes()
    assert "| mae | 0.05 |" in (regenerated / "README.md").read_text()
    assert (kept / "preprocessor_config.json").is_file(), "a folder without a processor gets the default one"


def test_save_for_hub_refuses_folders_it_cannot_push(tmp_path, tiny_model):
    pickled = tmp_path / "pickled"
    tiny_model.save_pretrained(pickled)
    (pickled / "model.safetensors").unlink()
    torch.save(tiny_model.state_dict(), pickled / "pytorch_model.bin")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    staged = tmp_path / "staged"
    staged.mkdir()
    with pytest.raises(ValueError, match=r"no model\.safetensors; only safetensors.*pytorch_model\.bin is a pickle"):
        save_for_hub(pickled, staged)
    with pytest.raises(ValueError, match="model_type is 'bert', not a U2-Net model"):
        save_for_hub(other, staged)
    with pytest.raises(ValueError, match="is not a local folder"):
        save_for_hub("org/some-repo", staged)


@pytest.mark.parametrize(
    ("dest", "overwrite", "message"),
    [
        ("notes.txt", False, "exists and is not a folder"),
        ("photos", False, "not empty; pass --overwrite"),
        ("photos", True, "does not hold a model"),
    ],
)
def test_save_model_folder_refuses_destinations_that_would_lose_data(tmp_path, tiny_model, dest, overwrite, message):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_text("x")
    with pytest.raises(FileExistsError, match=message):
        save_model_folder(tiny_model, tmp_path / dest, overwrite=overwrite)
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["cat.jpg", "notes.txt", "photos"]
    assert check_destination(tmp_path / "new", overwrite=False) == tmp_path / "new"


def test_save_model_folder_writes_a_complete_folder_with_shared_permissions(tmp_path, tiny_model):
    dest = save_model_folder(
        tiny_model,
        tmp_path / "model",
        image_processor=U2NetImageProcessor(size=PROCESSOR_SIZE),
        model_card={"preset": "lite", "provenance": "Made in a test."},
        extra_files={"NOTICE": b"notice", "LICENSE": REPO_ROOT / "LICENSE"},
    )
    assert sorted(path.name for path in dest.iterdir()) == [
        "LICENSE",
        "NOTICE",
        "README.md",
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ]
    assert all((path.stat().st_mode & 0o777) == 0o644 for path in dest.iterdir())
    assert (dest / "NOTICE").read_bytes() == b"notice" and "Made in a test." in (dest / "README.md").read_text()
    assert U2NetImageProcessor.from_pretrained(dest).size == PROCESSOR_SIZE
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no staging folder left behind


def test_a_failure_while_writing_leaves_the_old_folder_intact(tmp_path, tiny_model):
    dest = save_model_folder(tiny_model, tmp_path / "model")
    weights = (dest / "model.safetensors").read_bytes()
    with pytest.raises(FileNotFoundError):
        save_model_folder(tiny_model, dest, extra_files={"NOTICE": tmp_path / "missing"}, overwrite=True)
    assert (dest / "model.safetensors").read_bytes() == weights
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_save_for_hub_model_object_keeps_the_processor_it_was_loaded_with(tmp_path, tiny_model):
    source = tmp_path / "run"
    tiny_model.save_pretrained(source)
    U2NetImageProcessor(size=PROCESSOR_SIZE, rescale_by_max=True).save_pretrained(source)
    staged = tmp_path / "staged"
    staged.mkdir()
    save_for_hub(U2NetForImageSegmentation.from_pretrained(source), staged)
    staged_config = json.loads((staged / "preprocessor_config.json").read_text())
    # The push names the processor class in config.json's auto_map (its remote code); the processor's own settings
    # are those it was loaded with.
    assert json.loads((staged / "config.json").read_text())["auto_map"]["AutoImageProcessor"] == (
        "image_processing_u2net.U2NetImageProcessor"
    )
    source_config = json.loads((source / "preprocessor_config.json").read_text())
    assert source_config.pop("image_processor_type") == "U2NetImageProcessor"
    assert staged_config == source_config


def test_preset_of_tells_published_networks_from_custom_ones(tiny_model):
    assert preset_of(U2NetConfig(preset="lite")) == "lite" and preset_of(U2NetConfig()) == "full"
    assert preset_of(tiny_model.config) is None


def test_stale_files_are_other_weight_formats_and_code_pushed_before():
    remote = [
        ".gitattributes",
        "README.md",
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "model-00001-of-00002.safetensors",
        "model.safetensors.index.json",
        "modeling_u2net.py",
        "notes/model.pt",
    ]
    pushed = ["README.md", "config.json", "model.safetensors", "preprocessor_config.json"]
    assert stale_files(remote, pushed, with_code=False) == [
        "model-00001-of-00002.safetensors",
        "model.safetensors.index.json",
        "modeling_u2net.py",
        "pytorch_model.bin",
    ]
    assert "modeling_u2net.py" not in stale_files(remote, [*pushed, *REMOTE_CODE_FILES], with_code=True)


def test_cli_rejects_a_malformed_metric(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["push", str(tmp_path), "org/x", "--metric", "mae"])
    assert exit_info.value.code == 1  # a bad argument exits 1 with one line, as every other error (u2net_hf.cli)
    assert "'mae': expected NAME=NUMBER" in capsys.readouterr().err


def test_u2net_lite_pretrained_works_offline_from_the_bundled_weights():
    assert huggingface_hub.constants.HF_HUB_OFFLINE, "conftest.py switches the Hub client to offline mode"
    model = torch.hub.load(str(REPO_ROOT), "u2net_lite", source="local", pretrained=True)
    bundled = load_file(WEIGHTS_DIR / "u2net-lite" / "model.safetensors")
    assert not model.training
    assert all(torch.equal(value, bundled[key]) for key, value in model.state_dict().items())


# ------------------------------------------------------------------------------------- push (local Hub)
def without_code_keys(data: bytes) -> dict:
    """A config.json / preprocessor_config.json without what adding remote code changes in it (the processor's class
    moves from preprocessor_config.json into config.json's auto_map)."""
    config = json.loads(data)
    for key in ("auto_map", "custom_pipelines", "image_processor_type"):
        config.pop(key, None)
    return config


@pytest.mark.slow
def test_push_makes_one_commit_with_exactly_the_model_files(pushes, hub, folders):
    oid = check(pushes, "main_push")["oid"]
    commits = hub.commits(REPOS["main"])
    assert len(commits) == 2 and commits[0] == oid, "the repo's initial commit, then one for the push"
    files = hub.repo_files(REPOS["main"])
    assert set(files) == MODEL_FILES | set(REMOTE_CODE_FILES)  # the code goes by default
    assert files["model.safetensors"] == (folders["main"] / "model.safetensors").read_bytes()
    for name in ("config.json", "preprocessor_config.json"):
        assert without_code_keys(files[name]) == without_code_keys((folders["main"] / name).read_bytes()), name
    assert stored_commit(hub, REPOS["main"], oid)["title"] == "Add tiny U2-Net"
    card = ModelCard(files["README.md"].decode())
    assert card.data.pipeline_tag == "image-segmentation" and card.data.library_name == "transformers"
    assert 'from_pretrained("org/u2net-lite", trust_remote_code=True)' in card.text


@pytest.mark.slow
def test_convert_push_to_hub_pushes_the_converted_folder(pushes, hub, workdir):
    result = check(pushes, "cli_convert_and_push")
    assert result["rc"] == 0, result["stderr"]
    assert len(hub.commits(REPOS["converted"])) == 2, "the repo's initial commit, then one for the push"
    files = hub.repo_files(REPOS["converted"])
    assert set(files) == MODEL_FILES | set(REMOTE_CODE_FILES)  # the code goes by default
    assert files["model.safetensors"] == (workdir / "converted" / "model.safetensors").read_bytes()
    for name in ("config.json", "preprocessor_config.json"):
        assert without_code_keys(files[name]) == without_code_keys((workdir / "converted" / name).read_bytes()), name
    # The folder's card (no code: import u2net_hf) is pointed at the repo, which has code; its provenance stays.
    local_card = (workdir / "converted" / "README.md").read_text()
    assert "library_name: u2net-hf" in local_card and 'from_pretrained("org/converted")' in local_card
    card = files["README.md"].decode()
    assert "library_name: transformers" in card and 'from_pretrained("org/converted", trust_remote_code=True)' in card
    assert "Converted with `u2net-hf convert` from `u2netp.pth`" in card
    assert f"{REPOS['converted']}@main:" in result["stdout"]


@pytest.mark.slow
def test_pushing_unchanged_files_makes_no_commit(pushes, hub):
    first, second = check(pushes, "main_push")["oid"], check(pushes, "unchanged_push")["oid"]
    assert second == first == hub.ref(REPOS["main"])
    assert len(hub.commits(REPOS["main"])) == 2


@pytest.mark.slow
def test_push_to_a_branch_leaves_main_untouched(pushes, hub, folders):
    main_oid, dev_oid = check(pushes, "main_push")["oid"], check(pushes, "dev_push")["oid"]
    assert hub.ref(REPOS["main"]) == main_oid
    assert hub.repo_files(REPOS["main"])["model.safetensors"] == (folders["main"] / "model.safetensors").read_bytes()
    assert hub.commits(REPOS["main"], "dev") == [dev_oid, *hub.commits(REPOS["main"])]
    assert (
        hub.repo_files(REPOS["main"], "dev")["model.safetensors"]
        == (folders["dev"] / "model.safetensors").read_bytes()
    )


@pytest.mark.slow
def test_push_with_code_adds_the_code_files_and_auto_map(pushes, hub):
    check(pushes, "remote_code_push")
    files = hub.repo_files(REPOS["code"])
    assert set(files) == MODEL_FILES | set(REMOTE_CODE_FILES)
    assert "AutoImageProcessor" in json.loads(files["config.json"])["auto_map"]
    assert len(hub.commits(REPOS["code"])) == 2


@pytest.mark.slow
def test_push_deletes_pickled_weights_left_on_the_branch_in_the_same_commit(pushes, hub):
    result = check(pushes, "pickled_weights_replaced")
    assert hub.commits(REPOS["pickled"]) == [result["oid"], *result["before"]]
    assert set(hub.repo_files(REPOS["pickled"])) == MODEL_FILES | set(REMOTE_CODE_FILES)  # the code goes by default


@pytest.mark.slow
def test_transformers_push_to_hub_methods_push_safetensors(pushes, hub):
    check(pushes, "transformers_push")
    assert set(hub.repo_files(REPOS["transformers"])) == MODEL_FILES


@pytest.mark.slow
def test_cli_push_creates_a_private_repo_with_a_card_from_the_options(pushes, hub):
    result = check(pushes, "cli_push")
    assert result["rc"] == 0, result
    assert result["stdout"].strip().startswith(f"{REPOS['cli']}@main: {hub.endpoint}/{REPOS['cli']}/commit/")
    files = hub.repo_files(REPOS["cli"])
    assert set(files) == MODEL_FILES | set(REMOTE_CODE_FILES)  # the code goes by default
    card = ModelCard(files["README.md"].decode())
    assert card.data.base_model == REPOS["main"] and card.data.datasets == ["org/portraits"]
    assert card.data.metrics == ["mae", "max_f"] and "| mae | 0.031 |" in card.text
    assert stored_commit(hub, REPOS["cli"], hub.ref(REPOS["cli"]))["title"] == "Fine-tuned on portraits"


@pytest.mark.slow
def test_push_without_a_token_fails_in_one_line_and_creates_nothing(pushes, hub):
    line = assert_one_line_error(check(pushes, "cli_without_token"), "No Hub token was found", "hf auth login")
    assert "no token sent" in line
    assert hub.ref(REPOS["no_token"]) is None


@pytest.mark.slow
def test_push_with_an_invalid_token_fails_in_one_line(pushes, hub):
    assert_one_line_error(check(pushes, "cli_with_invalid_token"), "Invalid credentials", "--token")
    assert hub.ref(REPOS["no_token"]) is None


@pytest.mark.slow
def test_push_with_a_read_only_token_fails_and_leaves_the_repo_as_it_was(pushes, hub):
    main_oid = check(pushes, "main_push")["oid"]
    assert_one_line_error(check(pushes, "cli_with_read_only_token"), "does not have write access", "write access")
    assert hub.ref(REPOS["main"]) == main_oid and len(hub.commits(REPOS["main"])) == 2


@pytest.mark.slow
def test_push_to_a_foreign_namespace_fails_in_one_line_and_creates_nothing(pushes, hub):
    result = check(pushes, "cli_foreign_namespace")
    assert_one_line_error(result, "someone-else", "push to a namespace you own")
    assert result["library"]["type"] == "PermissionError" and result["library"]["is_oserror"]
    assert hub.ref(REPOS["foreign"]) is None


@pytest.mark.slow
def test_hub_dying_mid_push_gives_a_clear_error_and_a_retry_succeeds(pushes, hub, fault, folders):
    result = check(pushes, "interrupted_push")
    assert fault.dropped == 1
    assert result["first"]["rc"] == 0, result["first"]
    assert_one_line_error(result["interrupted"], "Lost the connection", "run the same push again")
    first_push, initial = hub.commits(REPOS["interrupted"])[1:]
    assert result["hub_back"] and result["commits_after_failure"] == [first_push, initial], "main unchanged"
    assert result["retry"]["rc"] == 0, result["retry"]
    assert (
        hub.repo_files(REPOS["interrupted"])["model.safetensors"]
        == (folders["dev"] / "model.safetensors").read_bytes()
    )


# ------------------------------------------------------------------------------------- load (local Hub)
@pytest.mark.slow
def test_auto_classes_load_the_pushed_model_exactly(loads):
    assert check(loads, "auto_model_for_image_segmentation") == {
        "ok": True,
        "class": "U2NetForImageSegmentation",
        "max_abs_diff": 0.0,
    }
    assert check(loads, "auto_model") == {
        "ok": True,
        "class": "U2NetForImageSegmentation",
        "max_abs_diff": 0.0,
        "bare_max_abs_diff": 0.0,
    }
    assert check(loads, "load_model_api")["max_abs_diff"] == 0.0


@pytest.mark.slow
def test_auto_image_processor_loads_the_pushed_config(loads):
    result = check(loads, "auto_image_processor")
    assert result["class"] == "U2NetImageProcessor" and result["same_config"] and result["max_abs_diff"] == 0.0
    assert check(loads, "load_model_api")["processor_size"] == PROCESSOR_SIZE


@pytest.mark.slow
def test_pipeline_by_repo_id_gives_the_local_masks(loads):
    result = check(loads, "image_segmentation_pipeline")
    assert result["labels"] == ["foreground"] and result["max_abs_diff"] == 0.0


@pytest.mark.slow
def test_revision_pins_a_branch_or_a_commit(loads):
    assert check(loads, "revision_branch")["max_abs_diff"] == 0.0
    result = check(loads, "revision_commit")
    assert result["head_vs_dev"] == 0.0 and result["pinned_vs_main"] == 0.0


@pytest.mark.slow
def test_model_pushed_with_transformers_methods_loads(loads):
    result = check(loads, "transformers_pushed")
    assert result["max_abs_diff"] == 0.0 and result["processor_size"] == PROCESSOR_SIZE


@pytest.mark.slow
def test_model_card_snippets_run_against_the_pushed_repo(loads):
    result = check(loads, "model_card_instructions")
    assert result["blocks"] >= 3
    assert result["mask_shape"] == [45, 70] and set(result["segments"]) <= {"foreground"}


@pytest.mark.slow
def test_torch_hub_resolves_repo_ids_through_the_hub_cache(loads, hub):
    result = check(loads, "torch_hub")
    assert result["lite"] == [0.0, 0.0] and result["full"] == [0.0, 0.0]
    for repo_id in (REPOS["hub_lite"], REPOS["default_full"]):
        assert f"models--{repo_id.replace('/', '--')}" in result["cached_repos"]
        downloads = [
            path
            for method, path, status in hub.requests
            if method == "GET" and path.startswith(f"/{repo_id}/resolve/") and path.endswith("/model.safetensors")
        ]
        assert len(downloads) == 1, f"the second load of {repo_id} came from the cache: {downloads}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, phrase",
    [
        ("missing_repo", "org/missing"),
        ("missing_revision", "no-such-branch"),
        ("repo_without_weights", "model.safetensors"),
        ("private_repo_without_token", REPOS["cli"]),
    ],
)
def test_load_failures_are_the_hub_clients_own_errors(loads, name, phrase):
    result = check(loads, name)
    assert result["raised"] and result["is_oserror"], result
    assert phrase in result["message"] and not result["raised_in_u2net_hf"], result


def test_load_model_names_a_missing_repo_in_one_line_still_an_oserror(loads):
    # Our loaders turn the Hub client's error into one line naming the model (still an OSError, as transformers').
    result = check(loads, "missing_repo_through_load_model")
    assert result["raised"] and result["is_oserror"] and result["type"] == "ModelLoadError", result
    assert "'org/missing'" in result["message"] and "\n" not in result["message"], result


@pytest.mark.slow
def test_trust_remote_code_loads_without_u2net_hf_installed(remote_loads):
    assert remote_loads["u2net_hf_importable"] is False
    model = check(remote_loads, "remote_model")
    assert (
        model["module"].startswith("transformers_modules") and model["auto_model_class"] == "U2NetForImageSegmentation"
    )
    assert model["max_abs_diff"] == 0.0
    processor = check(remote_loads, "remote_processor")
    assert processor["module"].startswith("transformers_modules") and processor["max_abs_diff"] == 0.0
    assert check(remote_loads, "remote_pipeline")["max_abs_diff"] == 0.0


def test_default_repo_ids_are_the_documented_ones():
    assert {name: variant.repo_id for name, variant in PRETRAINED_VARIANTS.items()} == {
        "u2net-lite": "u2net-hf/u2net-lite",
        "u2net-full": "u2net-hf/u2net",
    }
    docs = (REPO_ROOT / "docs" / "hub.md").read_text()
    assert "`u2net-hf/u2net-lite`" in docs and "`u2net-hf/u2net`" in docs


# ------------------------------------------------------------------------------- the card of a trained folder


class _EvalSet(list):
    name = "my-org/portraits-test"


@pytest.mark.slow
def test_a_pushed_trained_folder_has_a_complete_card_whose_snippets_run_without_the_package(tmp_path, tiny_model):
    import re
    import textwrap
    import types

    from u2net_hf.training import write_training_card

    folder = tmp_path / "trained"
    save_model_folder(tiny_model, folder, image_processor=U2NetImageProcessor(size=PROCESSOR_SIZE))
    metrics = {"mae": 0.031, "max_fmeasure": 0.912}
    # What `u2net-hf train` writes beside the model (without --push-to-hub): the card and the licence files.
    write_training_card(
        folder,
        tiny_model,
        {"base_model": "u2net-hf/u2net-lite", "metrics": metrics},
        types.SimpleNamespace(name="DUTS-TR"),
        _EvalSet([0] * 5),
        7,
        base_folder=WEIGHTS_DIR / "u2net-lite",
    )
    local_card = (folder / "README.md").read_text()
    assert "library_name: u2net-hf" in local_card and "import u2net_hf" in local_card  # the folder has no code
    with LocalHub(tmp_path / "hub", tokens=TOKENS) as hub:
        push = run_with_hub_env(
            f"from u2net_hf.hub import push_to_hub; push_to_hub({str(folder)!r}, 'org/trained')",
            hub.endpoint,
            hf_home=tmp_path / "hf-push",
            token="hf_alice_write",
        )
        assert push.returncode == 0, push.stderr[-3000:]
        files = hub.repo_files("org/trained")
        card_text = files["README.md"].decode()
        assert set(REMOTE_CODE_FILES) <= set(files)
        assert re.search(r"<[^>\n]*>", card_text) is None, "a placeholder is left in the card"
        card = ModelCard(card_text)
        assert card.data.library_name == "transformers" and card.data.base_model == "u2net-hf/u2net-lite"
        results = {(r.metric_type, r.metric_value, r.dataset_name, r.task_type) for r in card.data.eval_results}
        assert results == {
            (name, value, "my-org/portraits-test", "image-segmentation") for name, value in metrics.items()
        }
        assert card.data.to_dict()["model-index"][0]["name"]
        assert "| mae | 0.031 |" in card_text and "org/trained" in card_text and str(folder) not in card_text
        notice = files["NOTICE"].decode()
        assert "Fine-tuned from u2net-hf/u2net-lite" in notice and "Xuebin Qin" in notice
        assert files["LICENSE"] == (WEIGHTS_DIR / "u2net-lite" / "LICENSE").read_bytes()

        # The card promises that its transformers snippets run without u2net-hf: run them, against the pushed repo.
        blocks = re.findall(r"```python\n(.*?)```", card_text.split("## How to use", 1)[1], flags=re.DOTALL)
        promised = [block for block in blocks if "u2net_hf" not in block and "torch.hub" not in block]
        assert len(promised) == 2 and all("trust_remote_code=True" in block for block in promised)
        (tmp_path / "hide").mkdir()
        (tmp_path / "hide" / "sitecustomize.py").write_text(HIDE_U2NET_HF)
        PIL.Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(
            tmp_path / "photo.jpg"
        )
        check = textwrap.dedent(
            """
            try:
                import u2net_hf
                raise SystemExit("u2net_hf should not be importable here")
            except ImportError:
                pass
            """
        )
        script = check + "\n".join(promised) + "\nprint('ran', cutout.mode, mask.mode, outputs.logits.shape)\n"
        run = run_with_hub_env(
            script,
            hub.endpoint,
            hf_home=tmp_path / "hf-use",
            token=None,
            cwd=tmp_path,
            extra_env={"PYTHONPATH": str(tmp_path / "hide")},
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert "ran RGBA L" in run.stdout
