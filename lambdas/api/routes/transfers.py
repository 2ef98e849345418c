"""Getting images in and out: upload targets, and the local stand-ins for presigned S3 POST and GET."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from aiorch import keys
from aiorch.storage import NotFound
from lambdas.api import schemas
from lambdas.api.context import UNAUTHORIZED, Ctx, User, base_url, dump
from lambdas.api.problems import Problem

public = APIRouter(tags=["public"])
router = APIRouter(tags=["image-ai-analysis"], responses=UNAUTHORIZED)


@public.post(
    "/local-uploads/{token}",
    status_code=201,
    response_model=schemas.UploadOut,
    responses={403: {"description": "Link expired or invalid."}, 413: {"description": "Too large."}},
)
def local_upload(
    ctx: Ctx,
    request: Request,
    token: Annotated[str, PathParam(max_length=4096)],
    file: Annotated[bytes, File(description="The image.")],
    content_type: Annotated[str, Form(alias="Content-Type", description="As in the target's fields.")],
) -> dict[str, Any]:
    """The local stand-in for a presigned S3 POST: the token carries the user, type and size limits."""
    claims = ctx.transfers.signer.read("upload", token)
    if content_type != claims["ct"]:
        raise Problem(403, f"this link accepts {claims['ct']} only, not {content_type!r}")
    if len(file) > int(claims["max"]):
        raise Problem(413, f"the image is {len(file)} bytes; the limit is {claims['max']} bytes")
    if not file:
        raise Problem(400, "the uploaded file is empty")
    info = ctx.service.store_upload(claims["user"], file, content_type)
    out = dump(info)
    out["upload"] = out.get("upload") or out["key"]
    return out


@public.get(
    "/downloads/{token}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/json": {}}}, 403: {}, 404: {}},
)
def download(ctx: Ctx, token: Annotated[str, PathParam(max_length=4096)]) -> Response:
    """The local stand-in for a presigned S3 GET."""
    claims = ctx.transfers.signer.read("download", token)
    key = str(claims.get("key", ""))
    if not keys.is_under_user(key, str(claims.get("user", ""))):
        raise Problem(403, "this link is not valid")
    try:
        data = ctx.storage.get_bytes(key)
    except NotFound as exc:
        raise Problem(404, "that file no longer exists") from exc
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    # No filename here: the page's <a download="..."> names the file (a header name would override it).
    return Response(data, media_type=media_type, headers={"Content-Disposition": "inline"})


@router.post("/uploads", status_code=201, response_model=schemas.UploadTargetOut)
def create_upload(ctx: Ctx, request: Request, user: User, body: schemas.UploadRequest) -> dict[str, Any]:
    """Where to send an image: a presigned S3 POST in AWS, a signed local URL on one machine."""
    target = ctx.transfers.upload_target(user, body.content_type, base_url(request))
    return {**target.__dict__}
