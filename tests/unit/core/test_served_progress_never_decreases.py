"""The percent the API serves (AnalysisService.get_status, what the web app and 'aiorch executions show'
poll) never decreases over one run, and reads 100 when it succeeds: for a single image and for a batch
(several images, each through each of the operation's jobs, e.g. inpaint's detect-text then inpaint).

The run is replayed as its writers write it: the jobs' progress.json (in the order jobs/pipeline.py, the
model modules and the tiler write them), their results, the index's stage notes (a job's queued and
started events, which in AWS come through EventBridge and may be recorded late or out of order, even
after the job has finished), then RecordResult. The service is polled after every write."""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analysis.progress import as_percent
from aiorch.contracts import (
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    AnalysisRequest,
    ExecutionStatus,
    JobKind,
    JobStage,
    Operation,
    Outcome,
)
from aiorch.index.stages import BATCH_JOB_STATE, QUEUED_FOR_GPU, running_words
from aiorch.storage import LocalStorage
from lambdas.outcome import OutcomeEvent
from lambdas.record_result.handler import BatchFailed, record_result
from tests.conftest import encode, photo
from tests.fakes.states import FakeStates
from tests.unit.core.test_one_progress_formula import job_writes

users = itertools.count()  # a user per example: an example that fails part-way leaves no running limit behind

# A write: ("progress", prefix, JobProgress), ("result", prefix, None), ("error", prefix, None) or
# ("stage", state, words): the index's stage note.
Write = tuple[str, Any, Any]
ENDED = ("FAILED", "ABORTED")  # an ended image shows its status, not a bar


@pytest.fixture
def service(settings, storage) -> AnalysisService:
    return AnalysisService(settings, storage=storage, states_client=FakeStates())


def one_job(data: st.DataObject, prefix: str, kind: JobKind, fails: bool) -> list[Write]:
    """One job's writes under ``prefix``: its progress.json states, its result before its "done" (as
    jobs/pipeline.py's write_result), or, when it ``fails``, an error.json at some point of its run."""
    writes: list[Write] = [("progress", prefix, p) for p in data.draw(job_writes(kind)) if p is not None]
    writes.insert(len(writes) - 1, ("result", prefix, None))
    if fails:
        writes = [*writes[: data.draw(st.integers(min_value=0, max_value=len(writes) - 2))], ("error", prefix, None)]
    return writes


def with_late_notes(data: st.DataObject, writes: list[Write], notes: list[tuple[int, Write]]) -> list[Write]:
    """``writes`` with each stage note (at its place in ``writes``) recorded there or any time later,
    in any order, before RecordResult (which notes its own stage and ends the run)."""
    placed = [
        (data.draw(st.integers(min_value=at, max_value=len(writes))), data.draw(st.integers(0, len(notes))), note)
        for at, note in notes
    ]
    placed.sort(key=lambda p: p[:2])  # notes recorded at one place: in any order
    merged: list[Write] = []
    for position in range(len(writes) + 1):
        merged += [note for at, _, note in placed if at == position]
        if position < len(writes):
            merged.append(writes[position])
    return merged


def apply(storage: LocalStorage, service: AnalysisService, user: str, execution_id: str, write: Write) -> None:
    what, where, value = write
    if what == "progress":
        storage.put_json(where + "progress.json", value.model_dump(mode="json"))
    elif what == "result":
        storage.put_bytes(where + "result.png", b"png")
        storage.put_json(where + "metadata.json", {})
    elif what == "error":
        storage.put_json(where + "error.json", {"type": "ImageDecodeError", "message": "truncated"})
    else:
        service.index.set_stage(user, execution_id, state=where, stage=value)


def record(storage: LocalStorage, service: AnalysisService, user: str, execution_id: str) -> ExecutionStatus:
    """RecordResult, as the state machine runs it at the end; the status it recorded."""
    running = service.index.get(user, execution_id)
    assert running is not None
    request = AnalysisRequest(**running.model_dump(include=set(AnalysisRequest.model_fields)))
    with contextlib.suppress(BatchFailed):  # no image succeeded: recorded FAILED
        record_result(OutcomeEvent.model_validate({"input": {"request": request}}), storage)
    recorded = service.index.get(user, execution_id)
    assert recorded is not None
    return recorded.status


def never_decreases(percents: list[float]) -> None:
    assert all(a <= b for a, b in itertools.pairwise(percents)), percents


def aborted_if_running(service: AnalysisService, user: str, execution_id: str) -> None:
    # A final one stays as it is.
    service.index.finalise(user, execution_id, Outcome(status=ExecutionStatus.ABORTED, recorded_by="test"))


@given(data=st.data())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_single_images_served_percent_never_decreases_and_ends_at_100(
    service: AnalysisService, storage: LocalStorage, data: st.DataObject
) -> None:
    operation = data.draw(st.sampled_from(list(Operation)))
    user = f"user{next(users)}"
    upload = service.store_upload(user, encode(photo(16))).key
    execution_id = service.submit(user, operation.value, upload).execution_id
    try:
        writes: list[Write] = []
        notes: list[tuple[int, Write]] = []
        for kind in JOBS_FOR_OPERATION[operation]:
            state = STATE_FOR_JOB[kind]
            notes += [
                (len(writes), ("stage", state, QUEUED_FOR_GPU)),
                (len(writes), ("stage", state, running_words(kind))),
            ]
            writes += one_job(data, keys.result_prefix(user, execution_id, kind.value), kind, fails=False)
        percents = [service.get_status(user, execution_id).progress.percent]
        for write in with_late_notes(data, writes, notes):
            apply(storage, service, user, execution_id, write)
            percents.append(service.get_status(user, execution_id).progress.percent)
        assert max(percents) < 100.0  # 100 only once it has ended
        assert record(storage, service, user, execution_id) is ExecutionStatus.SUCCEEDED
        percents.append(service.get_status(user, execution_id).progress.percent)
        never_decreases(percents)
        assert percents[-1] == 100.0
    finally:
        aborted_if_running(service, user, execution_id)


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_batchs_served_percents_never_decrease_and_end_at_100(
    service: AnalysisService, storage: LocalStorage, data: st.DataObject
) -> None:
    """The batch's own percent and each image's (while it runs or once it succeeded: a failed image
    shows its status instead), with the images' jobs running side by side in any interleaving."""
    operation = data.draw(st.sampled_from([Operation.upscale, Operation.denoise, Operation.inpaint]))
    kinds = JOBS_FOR_OPERATION[operation]
    images = data.draw(st.integers(min_value=1, max_value=3))
    failing = data.draw(st.lists(st.booleans(), min_size=images, max_size=images))
    user = f"user{next(users)}"
    uploads = [service.store_upload(user, encode(photo(16))).key for _ in range(images)]
    execution_id = service.submit(user, operation.value, None, upload_keys=uploads).execution_id
    try:
        streams: list[list[Write]] = []
        for index in range(images):
            stream: list[Write] = []
            failing_job = data.draw(st.sampled_from(kinds)) if failing[index] else None
            for kind in kinds:
                prefix = keys.batch_image_prefix(user, execution_id, kind.value, index)
                stream += one_job(data, prefix, kind, fails=kind is failing_job)
                if kind is failing_job:
                    break  # its later jobs do not run
            streams.append(stream)
        writes: list[Write] = []
        while any(streams):  # the chunks' jobs run side by side: any interleaving of the images' writes
            stream = data.draw(st.sampled_from([s for s in streams if s]))
            writes.append(stream.pop(0))
        notes: list[tuple[int, Write]] = []
        for kind in kinds:  # each job kind's chunk job: queued, then started, from its first write on
            first = next((i for i, w in enumerate(writes) if f"/{kind.value}/" in str(w[1])), len(writes))
            notes += [
                (first, ("stage", BATCH_JOB_STATE, QUEUED_FOR_GPU)),
                (first, ("stage", BATCH_JOB_STATE, running_words(kind))),
            ]

        def poll() -> tuple[float, list[tuple[str, float]]]:
            view = service.get_status(user, execution_id)
            return view.progress.percent, [(image.status, image.percent) for image in view.images]

        polls = [poll()]
        for write in with_late_notes(data, writes, notes):
            apply(storage, service, user, execution_id, write)
            polls.append(poll())
        assert max(batch for batch, _ in polls) < 100.0
        status = record(storage, service, user, execution_id)
        final = poll()
        never_decreases([batch for batch, _ in polls])
        for index in range(images):
            shown = [shown[index] for _, shown in [*polls, final]]
            running = list(itertools.takewhile(lambda s: s[0] not in ENDED, shown))
            never_decreases([percent for _, percent in running])
        if status is ExecutionStatus.SUCCEEDED:  # at least one image succeeded
            never_decreases([*(batch for batch, _ in polls), final[0]])
            assert final[0] == 100.0
            assert all(percent == 100.0 for image_status, percent in final[1] if image_status == "SUCCEEDED")
        else:
            assert not any(not fails for fails in failing)  # only a batch whose every image failed fails
    finally:
        aborted_if_running(service, user, execution_id)


def test_a_job_that_finished_before_its_start_was_noted_keeps_its_place(
    service: AnalysisService, storage: LocalStorage
) -> None:
    """The index still says ValidateInput (the job's queued and started events not yet recorded) while
    the job has written its last tile, then "done": the bar stays at the job's end, not back at 0."""
    user = f"user{next(users)}"
    execution_id = service.submit(user, "upscale", service.store_upload(user, encode(photo(16))).key).execution_id
    prefix = keys.result_prefix(user, execution_id, JobKind.upscale.value)
    percents = []
    for stage, done, total in [(JobStage.upscaling, 4, 4), (JobStage.writing_result, 0, 1), (JobStage.done, 1, 1)]:
        storage.put_json(prefix + "progress.json", {"stage": stage, "done": done, "total": total})
        view = service.get_status(user, execution_id)
        assert view.current_state == "Upscale" and view.progress.stage == stage
        percents.append(view.progress.percent)
    service.index.set_stage(user, execution_id, state="Upscale", stage=running_words(JobKind.upscale))  # late
    percents.append(service.get_status(user, execution_id).progress.percent)
    never_decreases(percents)
    # The job's third of ValidateInput, Upscale, RecordResult: at its end two thirds, rounded down.
    assert percents[-2:] == [as_percent(2 / 3)] * 2
    aborted_if_running(service, user, execution_id)
