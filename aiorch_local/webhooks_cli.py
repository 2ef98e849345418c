"""``aiorch webhooks``: the signing secret of a user's webhooks (aiorch/webhooks.py).

aiorch webhooks secret            # the local user's whsec_ secret (created on first read)
aiorch webhooks secret --rotate   # a new one; deliveries from then on are signed with it
"""

from __future__ import annotations

import click

from aiorch.settings import get_settings


@click.group()
def webhooks() -> None:
    """Webhooks (Standard Webhooks): the secret that signs them."""


@webhooks.command("secret")
@click.option("--rotate", is_flag=True, help="Make a new secret (the old one stops verifying).")
@click.option("--user", default=None, help="Default: the local user.")
def webhooks_secret(rotate: bool, user: str | None) -> None:
    """Print the user's webhook signing secret (whsec_...), the key that verifies webhook-signature."""
    from aiorch.storage import open_app_storage
    from aiorch.webhooks import SecretStore

    settings = get_settings()
    store = SecretStore(settings, open_app_storage(settings))
    who = user or settings.local_user
    click.echo(store.rotate(who) if rotate else store.get(who))
