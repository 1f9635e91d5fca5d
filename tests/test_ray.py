"""Tests of `u2net_hf.ray` on a real local Ray runtime (`ray.init(num_cpus=2)`): the callable class for
`map_batches`, and the whole job against the single-process `u2net-hf remove`."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from test_background import HOSTILE_FILES, random_rgb, save_tiny_model

from u2net_hf.cli import main
from u2net_hf.files import TEMPORARY_NAME

ray = pytest.importorskip("ray")
from u2net_hf.ray import RemoveBackgrounds, remove_backgrounds_ray  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    return str(save_tiny_model(tmp_path_factory.mktemp("tiny-u2net")))


def sixty_photos_three_corrupt(folder: Path) -> list[Path]:
    """60 files of mixed sizes in a two-level tree, 3 of them corrupt; returns the corrupt ones."""
    for index in range(57):
        path = folder / ("a" if index % 3 else ".") / ("b" if index % 5 == 0 else ".") / f"photo{index:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        PIL.Image.fromarray(random_rgb(16 + index % 23, 20 + (index * 7) % 31, seed=index)).save(path)
    corrupt = [folder / "empty.png", folder / "a" / "text.jpg", folder / "a" / "cut.jpg"]
    corrupt[0].write_bytes(b"")
    corrupt[1].write_bytes(b"not a picture")
    corrupt[2].write_bytes(HOSTILE_FILES["truncated-jpeg"][1])
    return corrupt


def summary_lines(capsys) -> list[str]:
    """The command's own lines on stderr (Ray's workers may log there too)."""
    lines = capsys.readouterr().err.splitlines()
    return [line for line in lines if line.startswith(("u2net-hf remove:", "  skipped", "  failed", "  ignored"))]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_job_writes_what_the_single_process_command_writes(local_ray, model_dir, tmp_path, capsys):
    source = tmp_path / "in"
    corrupt = sixty_photos_three_corrupt(source)
    assert main(["remove", str(source), str(tmp_path / "by-cli"), "-m", model_dir, "-q"]) == 1
    cli_errors = [line for line in summary_lines(capsys) if line.startswith("  failed")]

    summary = remove_backgrounds_ray(source, tmp_path / "by-ray", model=model_dir, num_actors=2, batch_size=4)
    assert len(summary.done) == 57 and summary.skipped == [] and len(summary.failed) == 3
    assert sorted(f"  failed {line}" for line in summary.failed) == sorted(cli_errors)  # the same messages
    assert sorted(line.split(": ")[0] for line in summary.failed) == sorted(str(path) for path in corrupt)
    by_ray, by_cli = files_under(tmp_path / "by-ray"), files_under(tmp_path / "by-cli")
    assert len(by_ray) == 57 and by_ray == by_cli  # the same tree, byte for byte
    assert not any(TEMPORARY_NAME.match(Path(name).name) for name in by_ray)

    again = remove_backgrounds_ray(source, tmp_path / "by-ray", model=model_dir, num_actors=2)
    assert again.done == [] and len(again.skipped) == 57 and len(again.failed) == 3
    assert files_under(tmp_path / "by-ray") == by_cli


def test_the_command_runs_a_folder_on_ray_with_the_same_outputs_and_summary(local_ray, model_dir, tmp_path, capsys):
    source = tmp_path / "in"
    sixty_photos_three_corrupt(source)
    assert main(["remove", str(source), str(tmp_path / "local"), "-m", model_dir]) == 1
    local = summary_lines(capsys)
    assert main(["remove", str(source), str(tmp_path / "ray"), "-m", model_dir, "--ray", "--num-actors", "2"]) == 1
    on_ray = summary_lines(capsys)
    assert [line.replace(str(tmp_path / "ray"), "OUT") for line in on_ray] == [
        line.replace(str(tmp_path / "local"), "OUT") for line in local
    ]
    assert on_ray[0].startswith("u2net-hf remove: 57 done, 0 skipped, 3 failed (of 60 images")
    assert files_under(tmp_path / "ray") == files_under(tmp_path / "local")
    assert main(["remove", str(source), str(tmp_path / "ray"), "-m", model_dir, "--ray"]) == 1
    assert summary_lines(capsys)[0].startswith("u2net-hf remove: 0 done, 57 skipped, 3 failed")


def test_a_killed_job_leaves_complete_outputs_and_the_rerun_finishes(local_ray, model_dir, tmp_path):
    source, output = tmp_path / "in", tmp_path / "out"
    sixty_photos_three_corrupt(source)
    (output / "a").mkdir(parents=True)
    (output / "a" / ".photo01.png.0123abcd.tmp").write_bytes(b"half a png")  # what a killed writer leaves
    (output / "a" / "photo01.png").write_bytes(b"done before")  # and an output that a first run finished
    summary = remove_backgrounds_ray(source, output, model=model_dir, num_actors=1)
    assert len(summary.done) == 56 and len(summary.skipped) == 1 and len(summary.failed) == 3
    assert (output / "a" / "photo01.png").read_bytes() == b"done before"
    assert not (output / "a" / ".photo01.png.0123abcd.tmp").exists()
    for path in output.rglob("*.png"):
        if path.name != "photo01.png":
            with PIL.Image.open(path) as image:
                image.load()


def test_the_callable_class_takes_ray_numpy_batches_and_reports_bad_rows(local_ray, model_dir, tmp_path):
    from u2net_hf import new_session

    photos = [random_rgb(20 + 3 * i, 30, seed=i) for i in range(5)]
    for index, photo in enumerate(photos):
        PIL.Image.fromarray(photo).save(tmp_path / f"p{index}.png")
    (tmp_path / "p5.png").write_bytes(b"broken")
    dataset = ray.data.read_binary_files(str(tmp_path), include_paths=True)
    rows = dataset.map_batches(
        RemoveBackgrounds,
        fn_constructor_kwargs={"model": model_dir, "mask_only": True},
        batch_size=4,
        compute=ray.data.ActorPoolStrategy(size=1),
    ).take_all()
    by_name = {Path(row["path"]).name: row for row in rows}
    assert sorted(by_name) == [f"p{i}.png" for i in range(6)]
    assert by_name["p5.png"]["error"].startswith(f"{tmp_path / 'p5.png'}: ") and by_name["p5.png"]["mask"] is None
    session = new_session(model_dir)
    for index, photo in enumerate(photos):
        row = by_name[f"p{index}.png"]
        assert row["error"] == ""  # encoded files in, PNG bytes out, as remove_background gives for bytes
        mask = np.asarray(PIL.Image.open(io.BytesIO(row["mask"])))
        np.testing.assert_array_equal(mask, session.remove(photo, mask_only=True))
    arrays = ray.data.from_items([{"image": photo} for photo in photos[:2]]).map_batches(
        RemoveBackgrounds, fn_constructor_kwargs={"model": model_dir}, compute=ray.data.ActorPoolStrategy(size=1)
    )
    for row, photo in zip(arrays.take_all(), photos, strict=False):  # arrays in, arrays out
        np.testing.assert_array_equal(row["cutout"], session.remove(photo))


def test_importing_the_package_costs_no_ray_and_no_datasets():
    code = "import sys, u2net_hf; print(sorted({'ray', 'datasets'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_bad_job_arguments_fail_before_any_cluster_starts(tmp_path):
    with pytest.raises(ValueError, match="no such folder"):
        remove_backgrounds_ray(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ValueError, match="writes PNG files"):
        remove_backgrounds_ray(tmp_path, tmp_path / "out", output_format="webp")
    with pytest.raises(ValueError, match="threshold"):
        remove_backgrounds_ray(tmp_path, tmp_path / "out", threshold=2)
