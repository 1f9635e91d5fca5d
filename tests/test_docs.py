"""The documentation cannot drift from the code: every ```python snippet of the site and of the README runs, the
commands marked runnable run, the gallery is what the bundled model makes, and `mkdocs build --strict` passes.

Each page runs top to bottom, as a reader would: its Python blocks and marked commands, in order, in one fresh
temporary folder laid out like the root of a clone (`docs/assets/`, `hubconf.py`) and one Python namespace, so
later blocks build on the names and files of earlier ones. A snippet that
cannot run here (it needs the Hub, GitHub, a GPU) is marked, visibly, with `<!-- no-test: why -->` on the line
before it, and SKIPS_ALLOWED below holds how many each page has. A ```bash block runs when marked
`<!-- test -->`; every shell block that calls `u2net-hf` or `python` must carry one marker or the other, so no
command reaches the site unchecked. Plain `u2net-hf ...` lines run in this process through `u2net_hf.cli.main`,
the function the `u2net-hf` script calls (starting an interpreter per command would cost more than the command);
other lines run with bash, and so do whole blocks whose lines depend on each other (`cd`, `export`, loops).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"
# What a snippet may read, relative to the root of a clone.
CLONE_FILES = ("docs/assets", "hubconf.py")

# Page -> number of snippets it leaves unrun (marked `<!-- no-test: why -->`). Each costs a reader a command
# nobody checks: lower a number when a snippet becomes runnable, and raise one only for a snippet that truly
# cannot run offline on a CPU.
SKIPS_ALLOWED = {
    "docs/at-scale.md": 2,  # a Ray cluster with a bucket, GPUs
    "docs/converting.md": 4,  # the user's own checkpoint files (x3; tests/test_cli_convert.py etc. cover them), PyPI
    "docs/performance.md": 1,  # the ten-minute benchmark (and a GPU)
    "docs/fine-tuning.md": 4,  # the DUTS data sets, several GPUs, pushing to the Hub, the ten-minute measured run
    "docs/hub.md": 4,  # pushing (a write token, x2), downloading from the Hub (x2)
    "docs/quickstart.md": 2,  # the README's venv + pip install commands (their `u2net-hf remove` part runs below)
    "docs/serving.md": 2,  # `u2net-hf serve` runs until stopped (tests/test_server.py runs it), the benchmark
    "docs/streams.md": 3,  # ffmpeg pipes (no ffmpeg program here), a watch that runs until Ctrl-C, the benchmark
    "docs/using-the-model.md": 2,  # loading from the Hub, torch.hub from GitHub
}

PYTHON_LANGUAGES = {"python", "py"}
SHELL_LANGUAGES = {"bash", "sh", "shell"}
SNIPPET_TIMEOUT_S = 300

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<language>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>no-test|test)\b\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")
ANY_MARKER = re.compile(r"<!--\s*(no-test|test)\b")
COMMAND = re.compile(r"^\s*(?:\S*/)?(?:u2net-hf|python3?)(?:\s|$)", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # line of the block's first code line, 1-based
    language: str
    code: str
    marker: str | None = None  # "test", "no-test" or None
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def documentation_pages() -> list[Path]:
    return [*sorted(DOCS_DIR.glob("*.md")), README]


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def parse_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """Fenced code blocks of a Markdown page with their markers, and the problems found with markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = relative(path)
    blocks, problems = [], []
    pending: tuple[int, re.Match] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line)
        if marker is None and ANY_MARKER.search(line):
            problems.append(f"{page}:{index + 1}: malformed marker {line.strip()!r}")
        if marker is not None:
            if pending is not None:
                problems.append(f"{page}:{pending[0] + 1}: marker not followed by a code block")
            pending = (index, marker)
            index += 1
            continue
        fence = FENCE.match(line)
        if fence is None:
            if line.strip() and pending is not None:
                problems.append(f"{page}:{pending[0] + 1}: marker not followed by a code block")
                pending = None
            index += 1
            continue
        closing = re.compile(rf"^[ \t]*{re.escape(fence['fence'][0])}{{{len(fence['fence'])},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [
            text[len(fence["indent"]) :] if text.startswith(fence["indent"]) else text
            for text in lines[index + 1 : end]
        ]
        kind, reason = (pending[1]["kind"], (pending[1]["reason"] or "").strip()) if pending else (None, "")
        if kind == "no-test" and not reason:
            problems.append(f"{page}:{pending[0] + 1}: `no-test` needs a reason: <!-- no-test: why -->")
        language = fence["language"].lower()
        if kind == "test" and language not in SHELL_LANGUAGES:
            problems.append(f"{page}:{pending[0] + 1}: `<!-- test -->` marks shell blocks; Python blocks always run")
        blocks.append(Block(page, index + 2, language, "\n".join(body) + "\n", kind, reason))
        pending = None
        index = end + 1
    if pending is not None:
        problems.append(f"{page}:{pending[0] + 1}: marker not followed by a code block")
    return blocks, problems


def runs(block: Block) -> bool:
    if block.language in PYTHON_LANGUAGES:
        return block.marker != "no-test"
    return block.language in SHELL_LANGUAGES and block.marker == "test"


ALL_BLOCKS = {relative(path): parse_blocks(path)[0] for path in documentation_pages()}
RUNNABLE_PAGES = [page for page, blocks in ALL_BLOCKS.items() if any(runs(block) for block in blocks)]


@pytest.fixture
def clone_dir(tmp_path) -> Path:
    """An empty working folder with the files of a clone's root that the docs use."""
    folder = tmp_path / "clone"
    for name in CLONE_FILES:
        source, target = REPO_ROOT / name, folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    return folder


def command_environment() -> dict[str, str]:
    """This environment, with this interpreter's scripts (`u2net-hf`, `python`) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    return env


def run_checked(command: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=cwd, env=command_environment(), capture_output=True, text=True, timeout=SNIPPET_TIMEOUT_S
    )
    assert result.returncode == 0, (
        f"{what} failed (exit status {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    return result


# Fast checks of the pages themselves


def test_markers_are_well_formed():
    problems = [problem for path in documentation_pages() for problem in parse_blocks(path)[1]]
    assert not problems, "\n".join(problems)


def test_skipped_snippets_match_the_budget():
    skipped = {page: [block for block in blocks if block.marker == "no-test"] for page, blocks in ALL_BLOCKS.items()}
    counts = {page: len(blocks) for page, blocks in skipped.items() if blocks}
    listing = "\n".join(f"  {b.where}: {b.reason}" for blocks in skipped.values() for b in blocks)
    assert counts == SKIPS_ALLOWED, (
        f"unrun snippets per page changed: {counts}, expected {SKIPS_ALLOWED}. Make new snippets runnable, "
        f"or update SKIPS_ALLOWED in {relative(Path(__file__))} with a reason. Unrun now:\n{listing}"
    )


def test_every_command_in_the_docs_is_run_or_marked():
    unmarked = [
        block.where
        for page, blocks in ALL_BLOCKS.items()
        if page != relative(README)  # the README's commands are checked by the Quick start tests below
        for block in blocks
        if block.language in SHELL_LANGUAGES and block.marker is None and COMMAND.search(block.code)
    ]
    assert not unmarked, (
        "shell blocks calling u2net-hf or python need <!-- test --> (run by this file) or <!-- no-test: why --> on "
        "the line before them: " + ", ".join(unmarked)
    )


def readme_quick_start_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", text, flags=re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## Quick start' section"
    return re.findall(r"^```bash\n(.*?)\n```", section[1], flags=re.MULTILINE | re.DOTALL)


def test_quick_start_page_shows_the_readme_commands():
    commands = readme_quick_start_commands()
    assert len(commands) == 2, f"README's Quick start should hold its two commands, found {len(commands)}"
    quickstart = [block.code.strip() for block in ALL_BLOCKS["docs/quickstart.md"]]
    for command in commands:
        assert command.strip() in quickstart, f"docs/quickstart.md lacks the README's command:\n{command}"


def test_citation_matches_the_model_cards():
    from u2net_hf.conversion import CITATION

    bibtex = [block.code.strip() for block in ALL_BLOCKS["docs/licences.md"] if block.language == "bibtex"]
    assert bibtex == [CITATION.strip()]


def test_api_reference_covers_every_public_module():
    api = (DOCS_DIR / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: (u2net_hf(?:\.\w+)*)", api, flags=re.MULTILINE))
    import u2net_hf

    missing = []
    package_root = REPO_ROOT / "u2net_hf"
    for module_path in sorted(package_root.rglob("*.py")):
        if module_path.stem.startswith("_") or "cli" in module_path.relative_to(package_root).parts:
            continue  # private modules, package __init__ files, and the command line (documented per command)
        module_name = ".".join(("u2net_hf", *module_path.relative_to(package_root).with_suffix("").parts))
        module = importlib.import_module(module_name)
        # A module is covered by its own block, or by blocks for each class and function it exports at top level.
        exported = [name for name in getattr(module, "__all__", []) if callable(getattr(module, name))]
        covered = exported and all(name in u2net_hf.__all__ and f"u2net_hf.{name}" in documented for name in exported)
        if module_name not in documented and not covered:
            missing.append(module_name)
    assert not missing, f"docs/api.md has no `::: module` block for {missing}"


# The gallery


def load_gallery_script():
    spec = importlib.util.spec_from_file_location("make_gallery", REPO_ROOT / "scripts" / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_was_made_with_the_bundled_weights():
    gallery = load_gallery_script()
    folder = DOCS_DIR / gallery.GALLERY_FOLDER
    manifest = json.loads((folder / gallery.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["model_files_sha256"] == gallery.model_file_hashes(), (
        "the bundled model changed since the gallery was made: run `python scripts/make_gallery.py`"
    )
    assert [photo["name"] for photo in manifest["photos"]] == list(gallery.PHOTOS)
    pictures = [folder / photo[key] for photo in manifest["photos"] for key in ("input", "mask", "cutout")]
    assert all(picture.is_file() for picture in pictures)
    assert sum(path.stat().st_size for path in folder.iterdir()) < 1.5e6
    page = (DOCS_DIR / gallery.PAGE_NAME).read_text(encoding="utf-8")
    assert page == gallery.render_page(manifest), "docs/gallery.md was edited by hand: run the script instead"


@pytest.mark.slow
def test_gallery_mask_is_what_the_bundled_model_makes_now():
    """The fast test above catches changed model files; this one catches changed code (processing, composition).
    One photo is enough for that, and each costs a forward pass."""
    gallery = load_gallery_script()
    folder = DOCS_DIR / gallery.GALLERY_FOLDER
    manifest = json.loads((folder / gallery.MANIFEST_NAME).read_text(encoding="utf-8"))
    entry = manifest["photos"][0]
    photo = gallery.make_photo(entry["name"])
    fresh = np.asarray(gallery.thumbnail(photo["images"]["mask"]), dtype=np.int16)
    with PIL.Image.open(folder / entry["mask"]) as stored_image:
        stored = np.asarray(stored_image, dtype=np.int16)
    assert fresh.shape == stored.shape
    # Float rounding differs between machines and thread counts by a grey level at most; a change moves far more.
    close = np.abs(fresh - stored) <= 2
    assert close.mean() > 0.995, f"{entry['name']}: the mask changed; run `python scripts/make_gallery.py`"
    assert photo["foreground"] == pytest.approx(entry["foreground"], abs=0.005)


# Running the snippets and commands


def run_cli(arguments: list[str], what: str) -> None:
    from u2net_hf.cli import main

    try:
        status = main(arguments)
    except SystemExit as exit:  # argparse rejected the arguments
        status = exit.code
    assert status == 0, f"{what} exited with status {status}"


def command_lines(code: str) -> list[str]:
    """The commands of a shell block, one a line: continuations joined, blank and comment lines dropped."""
    return [
        line for line in code.replace("\\\n", " ").splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def cli_arguments(line: str) -> list[str] | None:
    """The arguments of a plain `u2net-hf ...` command line, or None if the line needs a shell (another program,
    pipes, redirections, variables, substitutions)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.commenters = "#"
    lexer.whitespace_split = True
    words = list(lexer)
    if not words or Path(words[0]).name != "u2net-hf" or any(set(word) & set("|&;<>()$`") for word in words):
        return None
    return words[1:]


# Lines that change the shell's state for the lines after them: a block holding one runs whole, in one bash.
SHELL_STATE = re.compile(r"^\s*(cd|export|source|\.|set|unset|alias|pushd|popd|[A-Za-z_]\w*=\S*\s*$)(\s|$)")


def runs_line_by_line(lines: list[str]) -> bool:
    """Whether each line is a complete command of its own (no loops, functions or state carried over)."""
    return not any(SHELL_STATE.match(line) for line in lines) and all(
        subprocess.run(["bash", "-n", "-c", line], capture_output=True).returncode == 0 for line in lines
    )


def run_python_block(block: Block, namespace: dict) -> None:
    # Padded to the block's line, under the page's path: a traceback points at the page and line that failed.
    source = "\n" * (block.line - 1) + block.code
    try:
        exec(compile(source, str(REPO_ROOT / block.page), "exec"), namespace)
    except Exception:
        pytest.fail(f"the snippet at {block.where} failed:\n{traceback.format_exc(limit=-6)}", pytrace=False)


def run_shell_block(block: Block, folder: Path) -> None:
    lines = command_lines(block.code)
    if not runs_line_by_line(lines):
        run_checked(["bash", "-euo", "pipefail", "-c", block.code], folder, f"the commands at {block.where}")
        return
    for line in lines:
        arguments = cli_arguments(line)
        if arguments is None:
            run_checked(["bash", "-euo", "pipefail", "-c", line], folder, f"`{line}` at {block.where}")
        else:
            run_cli(arguments, f"`{line.strip()}` at {block.where}")


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_runs_top_to_bottom(page, clone_dir, monkeypatch):
    """What a reader does: run the page's snippets and marked commands in order, in one folder and one Python
    session, so that each may use the files and names the ones before it made."""
    monkeypatch.chdir(clone_dir)
    namespace = {"__name__": "__main__"}
    for block in ALL_BLOCKS[page]:
        if not runs(block):
            continue
        if block.language in PYTHON_LANGUAGES:
            run_python_block(block, namespace)
        else:
            run_shell_block(block, clone_dir)


@pytest.mark.slow
def test_readme_quick_start_removes_the_background(clone_dir, monkeypatch):
    """The README's first command ends with `.venv/bin/u2net-hf remove INPUT OUTPUT`: run that part and check
    that it cut the subject out of the photo."""
    install_and_run = readme_quick_start_commands()[0]
    (remove,) = [part.strip() for part in install_and_run.split("&&") if "u2net-hf remove" in part]
    arguments = cli_arguments(remove)
    monkeypatch.chdir(clone_dir)
    run_cli(arguments, f"the README's `{remove}`")
    source, output = clone_dir / arguments[1], clone_dir / arguments[2]
    with PIL.Image.open(source) as photo, PIL.Image.open(output) as cutout:
        assert cutout.mode == "RGBA" and cutout.size == photo.size
        alpha = np.asarray(cutout.getchannel("A"))
    foreground = (alpha > 127).mean()
    assert 0.05 < foreground < 0.95, f"the cut-out is {foreground:.0%} opaque: not a subject cut out"


@pytest.mark.slow
def test_site_builds_strictly(tmp_path):
    # The docs tool chain is part of the `tests` extra: a missing install is a failure, not a skip.
    import material  # noqa: F401
    import mkdocs  # noqa: F401
    import mkdocstrings_handlers.python  # noqa: F401

    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        env={**command_environment(), "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_S,
    )
    output = textwrap.indent(result.stdout[-4000:] + result.stderr[-8000:], "  ")
    assert result.returncode == 0, f"`mkdocs build --strict` failed:\n{output}"
    assert "WARNING" not in result.stderr, output
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="u2net_hf.sessions.new_session"' in api  # the API reference was generated
    assert 'id="u2net_hf.sessions.remove_background"' in api
    assert (site / "gallery" / "astronaut-cutout.png").is_file()
