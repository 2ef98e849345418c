"""A status poll carries an ETag and Cache-Control: no-cache; If-None-Match with that tag answers 304, no body."""

from __future__ import annotations

from tests.unit.api.test_routes import submit


def test_a_poll_with_the_same_etag_answers_304_without_a_body(
    client, alice, bob, upload, photo_png, service, storage
) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    path = f"/image-ai-analysis/{execution}"

    first = client.get(path, headers=alice)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "no-cache"

    again = client.get(path, headers=alice | {"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag and again.headers["cache-control"] == "no-cache"
    # Several tags, one of them this one; and the strong form of the same tag.
    assert client.get(path, headers=alice | {"If-None-Match": f'"other", {tag}'}).status_code == 304
    assert client.get(path, headers=alice | {"If-None-Match": tag.removeprefix("W/")}).status_code == 304

    # The execution moves on: a new tag, a full answer.
    service.index.set_stage("alice", execution, state="Upscale", stage="queued for a GPU")
    moved = client.get(path, headers=alice | {"If-None-Match": tag})
    assert moved.status_code == 200 and moved.json()["current_state"] == "Upscale"
    assert moved.headers["etag"] != tag

    # Another user's If-None-Match learns nothing: 404 as for any id not theirs.
    assert client.get(path, headers=bob | {"If-None-Match": moved.headers["etag"]}).status_code == 404


def test_the_tag_ignores_the_clock_but_not_the_progress() -> None:
    from lambdas.api.etag import view_etag

    view = {"status": "RUNNING", "progress": {"percent": 10.0, "elapsed_s": 1.0, "remaining_s": 5.0}}
    later = {"status": "RUNNING", "progress": {"percent": 10.0, "elapsed_s": 2.5, "remaining_s": 4.0}}
    on = {"status": "RUNNING", "progress": {"percent": 12.0, "elapsed_s": 2.5}}
    assert view_etag(view) == view_etag(later) != view_etag(on)


def test_the_same_stage_written_again_is_not_a_change() -> None:
    # In AWS, Batch's SUBMITTED, PENDING, RUNNABLE and STARTING events each write "queued for a GPU":
    # only stage_at moves, and a poll has nothing new to show.
    from lambdas.api.etag import view_etag

    queued = {"status": "RUNNING", "stage": "queued for a GPU", "stage_at": "2026-12-07T10:00:00Z"}
    rewritten = queued | {"stage_at": "2026-12-07T10:00:09Z"}
    running = rewritten | {"stage": "running upscale"}
    assert view_etag(queued) == view_etag(rewritten) != view_etag(running)


def test_a_new_stage_in_the_same_state_is_a_new_tag_and_a_full_answer(
    client, alice, upload, photo_png, service
) -> None:
    # Queued for a GPU, then running: the same workflow state (Upscale) and no job progress yet, so only
    # the stage tells them apart. A poll holding the queued tag must get the running answer, not a 304.
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    path = f"/image-ai-analysis/{execution}"
    service.index.set_stage("alice", execution, state="Upscale", stage="queued for a GPU")
    queued = client.get(path, headers=alice)
    assert queued.json()["stage"] == "queued for a GPU" and queued.json()["stage_at"] is not None

    service.index.set_stage("alice", execution, state="Upscale", stage="running upscale")
    running = client.get(path, headers=alice | {"If-None-Match": queued.headers["etag"]})
    assert running.status_code == 200 and running.headers["etag"] != queued.headers["etag"]
    body = running.json()
    assert (body["current_state"], body["stage"]) == ("Upscale", "running upscale")
    assert body["progress"] == queued.json()["progress"] | {"elapsed_s": body["progress"]["elapsed_s"]}


def test_the_web_apps_unchanged_answer_leaves_out_what_the_etag_leaves_out() -> None:
    # The web app slows its polling for answers that differ only where the ETag does not look
    # (frontend/src/lib/poll.ts): the two lists of what changes by itself must agree.
    import re
    from pathlib import Path

    from lambdas.api.etag import _CLOCK_FIELDS

    poll_ts = (Path(__file__).resolve().parents[3] / "frontend" / "src" / "lib" / "poll.ts").read_text()
    listed = re.search(r"CHANGES_BY_ITSELF = new Set\(\[([^\]]*)\]\)", poll_ts)
    assert listed is not None, "CHANGES_BY_ITSELF is gone from poll.ts"
    web_app = set(re.findall(r"'([^']+)'", listed.group(1)))
    assert set(_CLOCK_FIELDS) <= web_app, set(_CLOCK_FIELDS) - web_app
