"""Several images in one job (jobs/batch.py): each gets a one-image job's files, one bad image fails
only itself, and the exit code says whether any succeeded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from aiorch.settings import Settings
from jobs import cli, runner
from jobs.batch import MAX_BATCH_IMAGES, BadManifest, parse_manifest
from tests.unit.jobs.job_images import astronaut, encoded

WAVELET = '{"method": "wavelet"}'  # denoise without torch models: quick on a CPU


def image_file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path.as_uri()


def manifest(*pairs: tuple[str, Path]) -> str:
    return json.dumps([{"input": source, "output": out.as_uri() + "/"} for source, out in pairs])


def test_each_image_gets_its_own_result_and_one_bad_image_fails_only_itself(tmp_path: Path, settings: Settings) -> None:
    good = image_file(tmp_path, "a.png", encoded(astronaut(48)))
    other = image_file(tmp_path, "b.png", encoded(astronaut(32)))
    corrupt = image_file(tmp_path, "c.png", b"\x89PNG\r\n\x1a\nnot really")
    outs = [tmp_path / "out" / str(i) for i in range(3)]

    code = cli.main(
        ["denoise", "--batch", manifest((good, outs[0]), (corrupt, outs[1]), (other, outs[2])), "--options", WAVELET],
        settings=settings,
    )

    assert code == cli.EXIT_OK  # two of three succeeded
    for out, size in ((outs[0], 48), (outs[2], 32)):
        assert Image.open(out / "result.png").size == (size, size)
        metadata = json.loads((out / "metadata.json").read_text())
        assert metadata["input"]["width"] == size and metadata["operation"] == "denoise"
        assert not (out / "error.json").exists()
    error = json.loads((outs[1] / "error.json").read_text())
    assert error["job"] == "denoise" and error["type"] == "BadImage", error
    assert not (outs[1] / "result.png").exists()


def test_a_batch_where_every_image_fails_exits_failed_with_each_error(tmp_path: Path, settings: Settings) -> None:
    missing = (tmp_path / "in" / "gone.png").as_uri()
    outs = [tmp_path / "out" / str(i) for i in range(2)]
    code = cli.main(["denoise", "--batch", manifest((missing, outs[0]), (missing, outs[1]))], settings=settings)
    assert code == cli.EXIT_FAILED
    assert all(json.loads((out / "error.json").read_text())["type"] == "NotFound" for out in outs)


def test_later_images_find_the_imports_and_model_done(tmp_path: Path, settings: Settings) -> None:
    """The fixed costs are paid once: only the first image's timings carry the imports."""
    sources = [image_file(tmp_path, f"{i}.png", encoded(astronaut(32))) for i in range(3)]
    outs = [tmp_path / "out" / str(i) for i in range(3)]
    code = cli.main(["upscale", "--batch", manifest(*zip(sources, outs, strict=True))], settings=settings)
    assert code == cli.EXIT_OK
    timings = [json.loads((out / "metadata.json").read_text())["timings_s"] for out in outs]
    assert all(t["imports"] < 0.05 for t in timings[1:]), timings  # torch and spandrel were imported once
    assert all(t["total_from"].startswith("job start") for t in timings[1:])  # each image's own clock


@pytest.mark.parametrize(
    ("batch", "words"),
    [
        ("not json", "--batch is not JSON"),
        ("[]", "non-empty JSON list"),
        ('[{"input": "file:///a.png"}]', "--batch image 0.output: Field required"),
        ('[{"input": "a", "output": "o/", "extra": 1}]', "--batch image 0.extra"),
        ('[{"input": "a", "output": "o/"}, {"input": "b", "output": "o/"}]', "the same output prefix"),
        (json.dumps([{"input": "a", "output": f"o{i}/"} for i in range(MAX_BATCH_IMAGES + 1)]), "at most 50"),
    ],
)
def test_a_manifest_that_cannot_be_read_is_named_and_nothing_runs(batch: str, words: str) -> None:
    with pytest.raises(BadManifest, match=words.replace(".", r"\.").replace("(", r"\(")):
        parse_manifest(batch)


def test_batch_and_one_image_arguments_do_not_mix(tmp_path: Path, settings: Settings, capsys) -> None:
    batch = manifest(("file:///a.png", tmp_path / "o"))
    assert cli.main(["denoise", "--batch", batch, "--input", "file:///a.png"], settings=settings) == cli.EXIT_USAGE
    assert "--batch replaces --input" in capsys.readouterr().err
    assert cli.main(["denoise", "--input", "file:///a.png"], settings=settings) == cli.EXIT_USAGE
    assert "--input, --output (or --batch)" in capsys.readouterr().err


def test_an_image_is_written_while_the_next_computes_and_at_most_two_are_held(
    tmp_path: Path, settings: Settings, monkeypatch
) -> None:
    """The writer thread encodes image N while the model runs on N+1; N+2 starts only once N is written."""
    import threading

    sources = [image_file(tmp_path, f"{i}.png", encoded(astronaut(32))) for i in range(3)]
    outs = [tmp_path / "out" / str(i) for i in range(3)]
    events: list[str] = []
    second_computing = threading.Event()
    compute, write = runner.compute_result, runner.write_result

    def computing(job, input_uri, output, *args, **kwargs):
        index = input_uri.rsplit("/", 1)[-1].split(".")[0]
        events.append(f"compute {index}")
        if index == "1":
            second_computing.set()
        return compute(job, input_uri, output, *args, **kwargs)

    def writing(computed):
        index = computed.output.prefix.rstrip("/").rsplit("/", 1)[-1]
        if index == "0":  # holds until image 1 computes: without the overlap this would time out
            assert second_computing.wait(timeout=30), "image 1 did not compute while image 0 was written"
        written = write(computed)
        events.append(f"written {index}")
        return written

    monkeypatch.setattr(runner, "compute_result", computing)
    monkeypatch.setattr(runner, "write_result", writing)
    batch = manifest(*zip(sources, outs, strict=True))
    assert cli.main(["denoise", "--batch", batch, "--options", WAVELET], settings=settings) == cli.EXIT_OK
    assert all((out / "result.png").exists() and (out / "metadata.json").exists() for out in outs)
    assert events.index("compute 1") < events.index("written 0") < events.index("compute 2"), events
