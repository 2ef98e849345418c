"""Lambda entry point: API Gateway → Mangum → the FastAPI app (built once per cold start)."""

from __future__ import annotations

from mangum import Mangum

from lambdas.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
