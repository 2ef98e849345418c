"""One progress formula for a single image's run and for each image of a batch: over any sequence of
progress.json states a run's jobs write (as a poll may see them: any of them skipped), the percent never
decreases and reads 100 only at the end. Before, a batch image read 100 % at "reading input 1/1" and
then 0 % at "load-model" (a raw done/total beside the run's own formula)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analysis.progress import as_percent, image_fraction, job_fraction, progress_view
from aiorch.contracts import (
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    TILE_ESTIMATE_SUFFIX,
    JobKind,
    JobProgress,
    JobStage,
    Operation,
    ProgressPhase,
)
from tests.conftest import encode, photo
from tests.fakes.states import FakeStates

# The model's own stages each job writes (jobs/*.py), and whether it loads a model first. A job registered
# later writes a stage of its own that JobStage does not name (deblur: "deblurring"): the formula weighs
# such a stage as the model's work, and these runs write one for it.
MODEL_STAGES = {
    JobKind.upscale: (JobStage.upscaling, True),
    JobKind.denoise: (JobStage.denoising, False),
    JobKind.detect_text: (JobStage.detecting_text, False),
    JobKind.inpaint: (JobStage.inpainting, False),
}


@st.composite
def job_writes(draw: st.DrawFn, kind: JobKind) -> list[JobProgress | None]:
    """What one job's progress.json holds over its run, in order (None: not written yet, the job queued),
    the way jobs/pipeline.py, the model modules and the tiler write it."""
    model_stage, loads_model = MODEL_STAGES.get(kind, (None, True))
    stage = model_stage.value if model_stage else f"{kind.value} (a stage JobStage does not name)"
    states: list[JobProgress | None] = [None]
    states += [JobProgress(stage=JobStage.reading_input, done=d, total=1) for d in (0, 1)]
    if loads_model or draw(st.booleans()):
        states.append(JobProgress(stage=JobStage.loading_model, done=0, total=1))
    estimated = draw(st.booleans())
    name = f"{stage}{TILE_ESTIMATE_SUFFIX}" if estimated else stage
    total = draw(st.integers(min_value=0, max_value=6)) * (100 if estimated else 1)
    if not estimated:
        states.append(JobProgress(stage=stage, done=0, total=1))  # "denoising 0/1" before its tiles
    done = sorted(draw(st.lists(st.integers(min_value=0, max_value=total), max_size=8)))
    states += [JobProgress(stage=name, done=d, total=total) for d in [0, *done, total]]
    states.append(JobProgress(stage=JobStage.writing_result, done=0, total=1))
    states.append(JobProgress(stage=JobStage.done, done=1, total=1))
    return states


def seen(draw: st.DrawFn, states: list) -> list:
    """What a poller sees of a sequence: any subsequence (writes are throttled, polls are seconds apart)."""
    keep = draw(st.lists(st.booleans(), min_size=len(states), max_size=len(states)))
    return [s for s, k in zip(states, keep, strict=True) if k]


def never_decreases_and_ends_at_100(percents: list[float]) -> None:
    assert all(a <= b for a, b in itertools.pairwise(percents)), percents
    assert percents[-1] == 100.0
    assert all(p < 100.0 for p in percents[:-1]), percents


@st.composite
def single_run(draw: st.DrawFn) -> tuple[Operation, list[tuple[str | None, JobProgress | None, bool]]]:
    """A single image's run as the service reads it: (current state, its job's progress, succeeded)."""
    operation = draw(st.sampled_from(list(Operation)))
    run: list[tuple[str | None, JobProgress | None, bool]] = [(None, None, False), ("ValidateInput", None, False)]
    run.append(("ChooseOperation", None, False))
    for job in JOBS_FOR_OPERATION[operation]:
        run += [(STATE_FOR_JOB[job], p, False) for p in draw(job_writes(job))]
        if job is JobKind.detect_text and operation is Operation.inpaint:
            run.append(("AfterDetectText", None, False))
    run += [("RecordResult", None, False), ("Succeeded", None, False), (None, None, True)]
    return operation, run


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_a_single_runs_percent_never_decreases_and_reads_100_only_at_the_end(data: st.DataObject) -> None:
    operation, run = data.draw(single_run())
    polled = [*seen(data.draw, run[:-1]), run[-1]]  # the poll that sees it end is always there
    percents = [progress_view(operation, state, done, p).percent for state, p, done in polled]
    never_decreases_and_ends_at_100(percents)


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_a_batch_images_percent_never_decreases_and_reads_100_only_at_the_end(data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(list(Operation)))
    kinds = JOBS_FOR_OPERATION[operation]
    run = [(step, p) for step, job in enumerate(kinds) for p in data.draw(job_writes(job))]
    polled = [*seen(data.draw, run[:-1]), run[-1]]  # its last job's "done": the image has ended
    percents = [as_percent(image_fraction(step, len(kinds), p)) for step, p in polled]
    never_decreases_and_ends_at_100(percents)


@given(st.data())
@settings(max_examples=100, deadline=None)
def test_a_batch_runs_percent_never_decreases_and_reads_100_only_at_the_end(data: st.DataObject) -> None:
    """The batch's own bar: its images, one after another (a chunk's job runs them in order), fill the
    jobs' share together."""
    operation = data.draw(st.sampled_from([Operation.upscale, Operation.denoise, Operation.inpaint]))
    kinds = JOBS_FOR_OPERATION[operation]
    images = data.draw(st.integers(min_value=1, max_value=3))
    fractions = [0.0] * images
    run: list[tuple[str | None, list[float], bool]] = [("ValidateInput", list(fractions), False)]
    run.append(("RunChunks", list(fractions), False))
    for image in range(images):
        for step, job in enumerate(kinds):
            for p in data.draw(job_writes(job)):
                fractions[image] = image_fraction(step, len(kinds), p)
                run.append(("ChunkJob", list(fractions), False))
        fractions[image] = 1.0  # its result is there: SUCCEEDED (or it failed: ended either way)
        run.append(("ChunkJob", list(fractions), False))
    run += [("RecordResult", list(fractions), False), ("Succeeded", list(fractions), False)]
    polled = [*seen(data.draw, run), (None, list(fractions), True)]
    percents = [progress_view(operation, s, done, None, image_fractions=f).percent for s, f, done in polled]
    never_decreases_and_ends_at_100(percents)


def test_every_stage_has_a_phase_and_the_weights_cover_a_job() -> None:
    from aiorch.analysis.progress import JOB_PHASE_WEIGHTS

    assert abs(sum(JOB_PHASE_WEIGHTS.values()) - 1.0) < 1e-9
    assert set(JOB_PHASE_WEIGHTS) == set(ProgressPhase) - {ProgressPhase.done}
    assert job_fraction(None) == 0.0  # queued: nothing written yet
    assert job_fraction(JobProgress(stage=JobStage.done, done=1, total=1)) == 1.0
    assert job_fraction(JobProgress(stage=JobStage.writing_result, done=1, total=1)) < 1.0
    assert JobStage.named("upscale (estimated within tiles)") is JobStage.upscaling
    assert JobStage.named("something new") is None


def test_the_batch_view_reads_the_same_formula(settings, storage) -> None:
    """The bug the issue names: a batch image at "reading input 1/1" read 100 %, then 0 % at "load-model"."""
    states = FakeStates()
    service = AnalysisService(settings, storage=storage, states_client=states)
    upload = service.store_upload("alice", encode(photo(16))).key
    record = service.submit("alice", "upscale", None, upload_keys=[upload, upload], options={})
    service.index.set_stage("alice", record.execution_id, state="ChunkJob", stage="running upscale")
    prefix = keys.batch_image_prefix("alice", record.execution_id, "upscale", 0)
    percents = []
    for stage, done in [(JobStage.reading_input, 1), (JobStage.loading_model, 0), ("upscale", 3)]:
        storage.put_json(prefix + "progress.json", {"stage": stage, "done": done, "total": 1 if done < 3 else 4})
        view = service.view(service.index.get("alice", record.execution_id))
        percents.append((view.images[0].percent, view.progress.percent))
    assert [p for p, _ in percents] == sorted(p for p, _ in percents)
    assert all(p < 100 for p, _ in percents)
    batch = [b for _, b in percents]
    assert batch == sorted(batch) and batch[0] > 0 and batch[-1] < 100
