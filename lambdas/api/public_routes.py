"""Which routes need no token: decided by the app's own route table, read by Terraform.

A route is public when its operation in the app's OpenAPI document carries no security requirement:
every route that checks a token does it through ``current_principal``, whose bearer dependency puts
``HTTPBearer`` in the operation's ``security``. API Gateway's JWT authorizer sits on ``$default``;
these routes get their own route key without it (``iac/modules/api``), read from
``iac/modules/api/public_routes.json``. That file is written from here and held to the app by
``tests/unit/api/test_public_routes.py``, so a public route added to the app and not to Terraform
(an answer of 401 in AWS, never locally) fails a test. Rewrite it with::

    python -m lambdas.api.public_routes > iac/modules/api/public_routes.json
"""

from __future__ import annotations

import json
from typing import Any

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def public_routes(app: Any) -> list[str]:
    """API Gateway route keys (``METHOD /path``) of every documented operation that needs no token."""
    keys = {
        f"{method.upper()} {path}"
        for path, item in app.openapi().get("paths", {}).items()
        for method, operation in item.items()
        if method in HTTP_METHODS and not operation.get("security")
    }
    return sorted(keys)


def render(app: Any) -> str:
    return json.dumps(public_routes(app), indent=2) + "\n"


def main() -> None:
    import tempfile
    from pathlib import Path

    from aiorch.settings import Settings
    from lambdas.api.app import create_app

    # The route table does not depend on the configuration: any settings build the same routes.
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(Settings(data_dir=Path(scratch), frontend_dir=Path(scratch)))
        print(render(app), end="")


if __name__ == "__main__":
    main()
