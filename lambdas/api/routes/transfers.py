"""Getting images in and out: upload targets, and the local stand-ins for presigned S3 POST and GET."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, File, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from aiorch import keys
from aiorch.analysis import CONTENT_TYPES
from aiorch.analysis.media import UNSUPPORTED_CONTENT_TYPES, unsupported_in_words
from aiorch.storage import NotFound
from lambdas.api import schemas
from lambdas.api.context import NOT_JSON, STORAGE_FULL, UNAUTHORIZED, Ctx, JsonBody, User, base_url
from lambdas.api.problems import Problem
from lambdas.api.transfers import UPLOAD_CONTENT_TYPES, content_disposition

public = APIRouter()
router = APIRouter(tags=["uploads"], responses=UNAUTHORIZED)

ACCEPTED_TYPES_IN_WORDS = ", ".join(sorted(UPLOAD_CONTENT_TYPES))


@public.post(
    "/local-uploads/{token}",
    tags=["uploads"],
    status_code=201,
    response_model=schemas.UploadOut,
    responses={
        400: {"description": "Empty, or not an image of an accepted format."},
        403: {"description": "Link expired or invalid, or another content type than the link's."},
        413: {"description": "Too large."},
        **STORAGE_FULL,
    },
)
def local_upload(
    ctx: Ctx,
    request: Request,
    token: Annotated[str, PathParam(max_length=4096)],
    # format binary: generators (openapi-python-client) type it as a file, not as text.
    file: Annotated[bytes, File(description="The image.", json_schema_extra={"format": "binary"})],
    content_type: Annotated[
        str,
        Form(
            alias="Content-Type",
            max_length=255,
            description="As in the target's fields.",
            json_schema_extra=schemas.UPLOAD_CONTENT_TYPE_SCHEMA,
        ),
    ],
) -> schemas.UploadOut:
    """The local stand-in for a presigned S3 POST: the token carries the user, type and size limits."""
    claims = ctx.transfers.signer.read("upload", token)
    if content_type != claims["ct"]:
        raise Problem(403, f"this link accepts {claims['ct']} only, not {content_type!r}")
    if len(file) > int(claims["max"]):
        raise Problem(413, f"the image is {len(file)} bytes; the limit is {claims['max']} bytes")
    if not file:
        raise Problem(400, "the uploaded file is empty")
    with ctx.transfers.signer.use_once(claims):
        info = ctx.service.store_upload(claims["user"], file, content_type, original_name=claims.get("name"))
    return schemas.UploadOut(**info.model_dump(), upload=info.key)


@public.get(
    "/downloads/{token}",
    tags=["downloads"],
    response_class=Response,
    responses={
        200: {
            "content": {media_type: {} for media_type in sorted(set(CONTENT_TYPES.values()))},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment, named after the original upload when its name is known.",
                    "schema": {"type": "string"},
                }
            },
        },
        403: {"description": "Link expired or invalid."},
        404: {"description": "The file no longer exists."},
    },
)
def download(ctx: Ctx, token: Annotated[str, PathParam(max_length=4096)]) -> Response:
    """The local stand-in for a presigned S3 GET (which answers the same Content-Disposition)."""
    claims = ctx.transfers.signer.read("download", token)
    key = str(claims.get("key", ""))
    if not keys.is_under_user(key, str(claims.get("user", ""))):
        raise Problem(403, "this link is not valid")
    try:
        data = ctx.storage.get_bytes(key)
    except NotFound as exc:
        raise Problem(404, "that file no longer exists") from exc
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": content_disposition(claims.get("name"))}
    )


@router.post(
    "/uploads",
    status_code=201,
    response_model=schemas.UploadTargetOut,
    dependencies=[JsonBody],
    responses={
        400: {"description": "The body could not be read (not UTF-8 JSON)."},
        **NOT_JSON,
        415: {"description": f"The body is not JSON, or content_type is not one of {ACCEPTED_TYPES_IN_WORDS}."},
    },
)
def create_upload(ctx: Ctx, request: Request, user: User, body: schemas.UploadRequest) -> schemas.UploadTargetOut:
    """Where to send an image: a presigned S3 POST in AWS, a signed local URL on one machine."""
    if body.content_type in UNSUPPORTED_CONTENT_TYPES:
        raise Problem(415, unsupported_in_words(UNSUPPORTED_CONTENT_TYPES[body.content_type]))
    if body.content_type not in UPLOAD_CONTENT_TYPES:
        raise Problem(415, f"{body.content_type!r} cannot be uploaded: send one of {ACCEPTED_TYPES_IN_WORDS}")
    target = ctx.transfers.upload_target(user, body.content_type, base_url(request), original_name=body.filename)
    if target.upload is not None and body.filename:
        # S3: the browser posts straight to the bucket, so the name is kept now, under the known key.
        ctx.service.remember_original_name(target.upload, body.filename)
    return schemas.UploadTargetOut.model_validate(target.__dict__)
