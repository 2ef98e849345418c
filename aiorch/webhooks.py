"""Webhooks, following Standard Webhooks (https://www.standardwebhooks.com).

A request may name ``{"url": ..., "events": ["started", "progress", "completed"]}``. Each event is
POSTed as JSON with the headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}``, keyed by the base64-decoded part
of the user's ``whsec_`` secret).

Where things live:
- the subscription: ``results/{user}/{execution}/webhook/subscription.json`` (deleted with the execution);
- each attempt (time, status code, error): ``.../webhook/deliveries.json``, served by the API;
- events waiting for their next attempt: ``webhooks/outbox/{user}.{execution}.{event}.json``, polled by
  ``deliver_due`` (locally every watchdog round of the local states service; in AWS the status-change
  schedule would call it, as it runs the sweep: documented, not wired);
- the per-user secret: locally ``<data_dir>/webhooks/{user}.json`` (mode 0600); elsewhere an object
  ``webhooks/secrets/{user}.json`` in the application storage. AWS should keep it as a KMS-encrypted
  attribute of a per-user item in the index table (DynamoDB), never in the results bucket: documented,
  not built.

URL policy: https only in AWS; locally http too, to a loopback address. Private, link-local, loopback
(AWS), multicast, reserved and unspecified addresses are refused at submit, and again at each delivery
on the address the name resolves to then (DNS rebinding): the connection goes to that checked address.
Redirects are not followed. Delivery is at least once: a receiver deduplicates by ``webhook-id``.
Failed attempts are retried with exponential backoff (1 s doubling up to 1 h between attempts) for up
to 24 h after the event; ``progress`` is sent at most once every 5 s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import os
import secrets as _secrets
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiorch import keys
from aiorch.settings import Settings
from aiorch.storage import NotFound, Storage

log = logging.getLogger(__name__)

EVENTS = ("started", "progress", "completed")
SECRET_PREFIX = "whsec_"
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 3600.0
GIVE_UP_AFTER_S = 24 * 3600.0
PROGRESS_EVERY_S = 5.0
ATTEMPT_TIMEOUT_S = 10.0
CLAIM_S = 60.0  # an attempt in flight holds its event this long before another loop may try it
OUTBOX = "webhooks/outbox/"
FOLLOWING = "webhooks/following/"  # executions whose subscription asked for progress, while they run
MAX_ATTEMPTS_KEPT = 100

Clock = Callable[[], float]
# send(url, headers, body, address) -> HTTP status; raises OSError when nothing answered.
Sender = Callable[[str, dict[str, str], bytes, str], int]
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(ValueError):
    """A webhook URL the policy does not allow (the message says why)."""


def is_local(settings: Settings) -> bool:
    """The local stack (no state machine ARN configured); in AWS it is set."""
    return settings.state_machine_arn is None


# --- signing ------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- per-user secrets -----------------------------------------------------------------------
class SecretStore:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def _path(self, user: str) -> Path:
        return self.settings.data_dir / "webhooks" / f"{keys.safe_part(user, 'user')}.json"

    def _read(self, user: str) -> str | None:
        try:
            if is_local(self.settings):
                value = json.loads(self._path(user).read_text(encoding="utf-8"))
            else:
                value = self.storage.get_json(f"webhooks/secrets/{keys.safe_part(user, 'user')}.json")
        except (OSError, NotFound, ValueError):
            return None
        secret = value.get("secret") if isinstance(value, dict) else None
        return secret if isinstance(secret, str) and secret.startswith(SECRET_PREFIX) else None

    def _write(self, user: str, secret: str) -> None:
        doc = {"secret": secret, "created_at": time.time()}
        if not is_local(self.settings):
            self.storage.put_json(f"webhooks/secrets/{keys.safe_part(user, 'user')}.json", doc)
            return
        path = self._path(user)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out)
        os.replace(temp, path)

    def get(self, user: str, *, create: bool = True) -> str | None:
        """The user's secret; created on first read."""
        secret = self._read(user)
        if secret is None and create:
            secret = new_secret()
            self._write(user, secret)
        return secret

    def rotate(self, user: str) -> str:
        secret = new_secret()
        self._write(user, secret)
        return secret


# --- URL policy ---------------------------------------------------------------------------
def resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def address_problem(address: str, *, local: bool) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if local else f"{address} is a loopback address"
    for refused, what in (
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_unspecified, "unspecified"),
    ):
        if refused:
            return f"{address} is a {what} address"
    return None


def check_url(url: str, *, local: bool, resolver: Resolver = resolve) -> tuple[str, int, list[str]]:
    """(host, port, addresses allowed) for a webhook URL, else WebhookRefused saying why."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise WebhookRefused(f"the webhook URL is not a URL ({exc})") from None
    if parts.scheme not in ("https", "http"):
        raise WebhookRefused("a webhook URL is https://...")
    if parts.username or parts.password:
        raise WebhookRefused("a webhook URL carries no user name or password")
    if not host:
        raise WebhookRefused("the webhook URL names no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("the webhook URL's port is not a number from 0 to 65535") from None
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except (OSError, ValueError) as exc:  # UnicodeError too: a name IDNA cannot encode
            raise WebhookRefused(f"the webhook host {host!r} cannot be resolved ({exc})") from None
    if not addresses:
        raise WebhookRefused(f"the webhook host {host!r} has no address")
    for address in addresses:
        if problem := address_problem(address, local=local):
            raise WebhookRefused(f"the webhook URL must reach a public address: {problem}")
    if parts.scheme == "http":
        loopback = all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
        if not (local and loopback):
            raise WebhookRefused("a webhook URL is https:// (http:// only to this machine, when running locally)")
    return host, port, addresses


# --- sending ------------------------------------------------------------------------------
class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the certificate verified for the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def http_send(url: str, headers: dict[str, str], body: bytes, address: str) -> int:
    """POST ``body`` to ``url``, connecting to ``address`` (checked); the response's status code."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = _PinnedHTTPS(host, port, address, ATTEMPT_TIMEOUT_S)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=ATTEMPT_TIMEOUT_S)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={**headers, "Host": parts.netloc.rsplit("@", 1)[-1]})
        response = conn.getresponse()
        response.read(4096)
        return response.status
    finally:
        conn.close()


# --- subscriptions and the outbox -------------------------------------------------------------
@dataclass
class Webhooks:
    """Subscribe, enqueue and deliver. ``clock`` (epoch seconds), ``send`` and ``resolver`` are injected
    in tests."""

    settings: Settings
    storage: Storage
    clock: Clock = time.time
    send: Sender = http_send
    resolver: Resolver = resolve

    @property
    def local(self) -> bool:
        return is_local(self.settings)

    def check(self, url: str) -> None:
        check_url(url, local=self.local, resolver=self.resolver)

    def _prefix(self, user: str, execution_id: str) -> str:
        return keys.result_prefix(user, execution_id, "webhook")

    def subscription(self, user: str, execution_id: str) -> dict[str, Any] | None:
        try:
            value = self.storage.get_json(self._prefix(user, execution_id) + "subscription.json")
        except (NotFound, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def subscribe(self, user: str, execution_id: str, url: str, events: Iterable[str], links: dict[str, str]) -> None:
        """Keep the subscription beside the execution's results; ``started`` goes out at once."""
        wanted = [e for e in EVENTS if e in set(events)]
        doc = {"url": url, "events": wanted, "links": links, "created_at": self.clock()}
        self.storage.put_json(self._prefix(user, execution_id) + "subscription.json", doc)
        if "progress" in wanted:  # followed by follow_progress until it ends
            self.storage.put_json(self._following_key(user, execution_id), {"user": user, "id": execution_id})
        if "started" in wanted:
            self.enqueue(user, execution_id, "started", {"execution_id": execution_id, "status": "RUNNING"})

    def _following_key(self, user: str, execution_id: str) -> str:
        return f"{FOLLOWING}{keys.safe_part(user, 'user')}.{keys.safe_part(execution_id, 'execution id')}.json"

    def follow_progress(self, operation_of: Callable[[str, str], str | None]) -> int:
        """Queue ``progress`` for each execution followed, from its running job's progress.json
        (``operation_of(user, id)``: its operation while it runs, None once it ended). Returns how many."""
        from aiorch.contracts import JOBS_FOR_OPERATION, Operation

        queued = 0
        for key in list(self.storage.list(FOLLOWING)):
            try:
                followed = self.storage.get_json(key)
                user, execution_id = followed["user"], followed["id"]
            except (NotFound, ValueError, KeyError, TypeError):
                continue
            operation = operation_of(user, execution_id)
            if operation is None:
                self.storage.delete(key)
                continue
            for job in reversed(JOBS_FOR_OPERATION.get(Operation(operation), ())):
                try:
                    job_progress = self.storage.get_json(
                        keys.result_prefix(user, execution_id, job.value) + "progress.json"
                    )
                except (NotFound, ValueError):
                    continue
                data = {"job": job.value, **{k: job_progress.get(k) for k in ("stage", "done", "total")}}
                queued += self.progress(user, execution_id, data) is not None
                break
        return queued

    def enqueue(self, user: str, execution_id: str, event: str, data: dict[str, Any], *, seq: int = 0) -> str | None:
        """Queue one event for its subscription (None: not subscribed to it, or queued before)."""
        sub = self.subscription(user, execution_id)
        if sub is None or event not in sub.get("events", []):
            return None
        msg_id = f"msg_{execution_id}_{event}" + (f"_{seq}" if seq else "")
        now = self.clock()
        payload = {
            "type": f"execution.{event}",
            "timestamp": _iso(now),
            "data": {**data, "links": sub.get("links", {})},
        }
        item = {
            "id": msg_id,
            "user": user,
            "execution_id": execution_id,
            "event": event,
            "url": sub["url"],
            "body": json.dumps(payload, separators=(",", ":"), sort_keys=True),
            "first_at": now,
            "next_at": now,
            "attempts": 0,
        }
        if not self.storage.put_if_absent(self._outbox_key(item), json.dumps(item).encode(), "application/json"):
            return None
        return msg_id

    def _outbox_key(self, item: dict[str, Any]) -> str:
        return f"{OUTBOX}{keys.safe_part(item['user'], 'user')}.{item['id']}.json"

    def completed(self, record: Any) -> str | None:
        """Queue ``completed`` for an ended execution record and make its first attempt now."""
        user, execution_id = record.user, record.execution_id
        if self.subscription(user, execution_id) is None:
            return None
        data: dict[str, Any] = {
            "execution_id": execution_id,
            "status": str(getattr(record.status, "value", record.status)),
            "operation": record.operation,
            "results": [{"job": k.split("/")[-2], "key": k} for k in record.result_keys],
            "images": [
                {"index": i.index, "status": i.status.value, "results": list(i.result_keys)} for i in record.images
            ],
        }
        if record.error_type or record.error_message:
            data["error"] = {"type": record.error_type, "message": record.error_message}
        msg_id = self.enqueue(user, execution_id, "completed", data)
        if msg_id is not None:  # its first attempt now, without listing the whole outbox
            key = self._outbox_key({"user": user, "id": msg_id})
            try:
                item = json.loads(self.storage.get_bytes(key))
            except (NotFound, ValueError):
                return msg_id  # another loop took it first
            self._attempt(key, item)
        return msg_id

    def progress(self, user: str, execution_id: str, data: dict[str, Any]) -> str | None:
        """Queue ``progress`` unless one was queued less than PROGRESS_EVERY_S ago."""
        sub = self.subscription(user, execution_id)
        if sub is None or "progress" not in sub.get("events", []):
            return None
        now = self.clock()
        if now - float(sub.get("last_progress_at") or 0) < PROGRESS_EVERY_S or sub.get("last_progress") == data:
            return None
        seq = int(sub.get("progress_seq") or 0) + 1
        sub.update(last_progress_at=now, last_progress=data, progress_seq=seq)
        self.storage.put_json(self._prefix(user, execution_id) + "subscription.json", sub)
        return self.enqueue(user, execution_id, "progress", {"execution_id": execution_id, **data}, seq=seq)

    # --- delivery -------------------------------------------------------------------------
    def deliveries(self, user: str, execution_id: str) -> list[dict[str, Any]]:
        try:
            value = self.storage.get_json(self._prefix(user, execution_id) + "deliveries.json")
        except (NotFound, ValueError):
            return []
        return value if isinstance(value, list) else []

    def _note(self, item: dict[str, Any], attempt: dict[str, Any]) -> None:
        done = self.deliveries(item["user"], item["execution_id"])
        done.append(attempt)
        self.storage.put_json(
            self._prefix(item["user"], item["execution_id"]) + "deliveries.json", done[-MAX_ATTEMPTS_KEPT:]
        )

    def deliver_due(self, only: str | None = None) -> int:
        """Make every attempt that is due (``only``: that event's); returns how many were made."""
        due: list[tuple[float, str, dict[str, Any]]] = []
        for key in list(self.storage.list(OUTBOX)):
            if only is not None and not key.endswith(f".{only}.json"):
                continue
            try:
                item = json.loads(self.storage.get_bytes(key))
            except (NotFound, ValueError):
                continue
            if float(item["next_at"]) <= self.clock():
                due.append((float(item["first_at"]), key, item))
        for _, key, item in sorted(due, key=lambda d: d[:2]):  # in the order they happened
            self._attempt(key, item)
        return len(due)

    def _attempt(self, key: str, item: dict[str, Any]) -> None:
        now = self.clock()
        item["attempts"] = int(item["attempts"]) + 1
        item["next_at"] = now + CLAIM_S  # held while this attempt runs
        self.storage.put_json(key, item)
        attempt: dict[str, Any] = {
            "webhook_id": item["id"],
            "event": item["event"],
            "attempt": item["attempts"],
            "at": _iso(now),
            "status_code": None,
            "error": None,
        }
        secret = SecretStore(self.settings, self.storage).get(item["user"])
        assert secret is not None
        body = item["body"].encode()
        timestamp = int(now)
        headers = {
            "content-type": "application/json",
            "user-agent": "aiorch-webhooks/1",
            "webhook-id": item["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, item["id"], timestamp, body),
        }
        delivered = False
        try:
            _, _, addresses = check_url(item["url"], local=self.local, resolver=self.resolver)
            status = self.send(item["url"], headers, body, addresses[0])
            attempt["status_code"] = status
            delivered = 200 <= status < 300
            if not delivered:
                attempt["error"] = f"the receiver answered {status}"
        except WebhookRefused as exc:
            attempt["error"] = f"refused: {exc}"
        except (OSError, http.client.HTTPException) as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"
        if delivered:
            attempt["outcome"] = "delivered"
            self.storage.delete(key)
        else:
            pause = min(FIRST_RETRY_S * 2 ** (item["attempts"] - 1), MAX_RETRY_S)
            if now + pause - float(item["first_at"]) > GIVE_UP_AFTER_S:
                attempt["outcome"] = "gave up"
                self.storage.delete(key)
            else:
                attempt["outcome"] = "will retry"
                attempt["next_attempt_at"] = _iso(now + pause)
                item["next_at"] = now + pause
                self.storage.put_json(key, item)
        self._note(item, attempt)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def on_recorded(settings: Settings, storage: Storage, record: Any) -> None:
    """The execution's end was recorded: send ``completed`` to its webhook, if it has one. Never raises
    (a webhook must not fail the recorder); what did not go out is retried from the outbox."""
    try:
        Webhooks(settings, storage).completed(record)
    except Exception:
        log.exception("webhook for %s not queued", getattr(record, "execution_id", "?"))


def pump(settings: Settings, storage: Storage, index: Any = None) -> int:
    """One round of the delivery loop (the local watchdog calls it every round): ``progress`` of the
    executions followed (``index``: the execution index, to tell which still run), then every attempt due."""
    hooks = Webhooks(settings, storage)
    if index is not None:

        def operation_of(user: str, execution_id: str) -> str | None:
            record = index.get(user, execution_id)
            return None if record is None or record.status.is_final else str(record.operation)

        hooks.follow_progress(operation_of)
    return hooks.deliver_due()
