"""Pairing another device: a short-lived, single-use code exchanged for a session cookie."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aiorch.settings import Settings
from aiorch_local import pairing
from aiorch_local.cli import cli
from aiorch_local.server import redact_link_tokens
from lambdas.api.app import create_app

NO_AUTO_SIGN_IN = {"local_auto_sign_in": False}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> pairing.PairingStore:
    return pairing.PairingStore(tmp_path / "auth" / "pairing.sqlite3")


@pytest.fixture
def paired_app(settings: Settings) -> tuple[TestClient, pairing.PairingStore]:
    quiet = settings.model_copy(update=NO_AUTO_SIGN_IN)
    app = create_app(quiet)
    store = pairing.install(app, quiet)
    return TestClient(app, base_url="http://192.168.1.20:8000", follow_redirects=False), store


# --- codes and sessions ----------------------------------------------------------------------------


def test_a_code_works_once(store) -> None:
    code = store.new_code()
    assert store.spend_code(code) is True
    assert store.spend_code(code) is False


def test_a_code_expires(tmp_path: Path) -> None:
    clock = Clock()
    store = pairing.PairingStore(tmp_path / "pairing.sqlite3", clock=clock)
    code = store.new_code(ttl_s=600)
    clock.now += 601
    assert store.spend_code(code) is False


def test_of_two_devices_opening_one_link_at_once_exactly_one_gets_in(store) -> None:
    code = store.new_code()
    start = threading.Barrier(8)
    outcomes: list[bool] = []

    def open_link() -> None:
        start.wait()
        outcomes.append(store.spend_code(code))

    threads = [threading.Thread(target=open_link) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False] * 7 + [True]


def test_codes_and_sessions_are_kept_only_as_hashes(store) -> None:
    code = store.new_code()
    session = store.new_session("local")
    kept = b"".join(p.read_bytes() for p in store.path.parent.iterdir() if p.name.startswith("pairing.sqlite3"))
    assert code.encode() not in kept and session.encode() not in kept
    assert store.path.stat().st_mode & 0o077 == 0  # no one else reads the file


def test_a_session_lasts_until_it_expires_or_ends(tmp_path: Path) -> None:
    clock = Clock()
    store = pairing.PairingStore(tmp_path / "pairing.sqlite3", clock=clock)
    first, second = store.new_session("local"), store.new_session("local", ttl_s=10)
    assert store.session_user(first) == "local" and store.session_user(second) == "local"
    clock.now += 11
    assert store.session_user(second) is None
    assert store.end_session(first) is True
    assert store.session_user(first) is None


def test_a_path_that_is_no_code_is_refused_without_a_query(store) -> None:
    assert store.spend_code("") is False
    assert store.spend_code("'; DROP TABLE codes; --") is False
    assert store.spend_code("x" * 500) is False


# --- the server side -------------------------------------------------------------------------------


def test_a_paired_browser_is_signed_in_and_stays_signed_in(paired_app) -> None:
    client, store = paired_app
    assert client.get("/authorize").status_code == 403  # automatic sign-in is off: not signed in

    opened = client.get(f"/pair/{store.new_code()}")
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{pairing.SESSION_COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes and "secure" not in attributes
    assert "samesite=lax" in cookie.lower() and "path=/authorize" in cookie.lower()

    for _ in range(2):  # a reload asks again, and gets tokens again
        tokens = client.get("/authorize")
        assert tokens.status_code == 200 and tokens.json()["user"] == "local"
        assert tokens.headers["cache-control"] == "no-store"
    signed_in = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert client.get("/image-ai-analysis", headers=signed_in).status_code == 200


def test_a_spent_link_says_so_and_signs_no_one_in(paired_app) -> None:
    client, store = paired_app
    code = store.new_code()
    assert client.get(f"/pair/{code}").status_code == 303
    client.cookies.clear()  # a second device
    again = client.get(f"/pair/{code}")
    assert again.status_code == 410 and "set-cookie" not in again.headers
    assert pairing.SPENT_MESSAGE in again.text.lower()
    assert again.headers["content-type"].startswith("text/html")
    assert again.headers["x-content-type-options"] == "nosniff"  # the app's security headers apply
    assert client.get("/authorize").status_code == 403
    assert client.get("/pair/not-a-code").status_code == 410


def test_a_link_preview_does_not_spend_the_code(paired_app) -> None:
    client, store = paired_app
    code = store.new_code()
    assert client.head(f"/pair/{code}").status_code == 200
    assert client.get(f"/pair/{code}").status_code == 303


def test_signing_out_ends_the_session_on_the_server_too(paired_app) -> None:
    client, store = paired_app
    client.get(f"/pair/{store.new_code()}")
    token = client.cookies[pairing.SESSION_COOKIE]
    signed_out = client.delete("/authorize")
    assert signed_out.status_code == 200
    assert f'{pairing.SESSION_COOKIE}=""' in signed_out.headers["set-cookie"]
    assert store.session_user(token) is None
    client.cookies.set(pairing.SESSION_COOKIE, token, path="/authorize")  # a copy kept of the cookie
    assert client.get("/authorize").status_code == 403


def test_over_https_the_cookie_is_secure(settings: Settings) -> None:
    quiet = settings.model_copy(update=NO_AUTO_SIGN_IN)
    app = create_app(quiet)
    store = pairing.install(app, quiet)
    client = TestClient(app, base_url="https://aiorch.example", follow_redirects=False)
    assert "secure" in client.get(f"/pair/{store.new_code()}").headers["set-cookie"].lower()


def test_pairing_is_not_part_of_the_deployed_api(settings: Settings) -> None:
    # The deployed app (create_app) has no pairing: only the local server installs it.
    app = create_app(settings)
    assert not any(path.startswith("/pair") for path in app.openapi()["paths"])
    assert TestClient(app).get(f"/pair/{'a' * 22}").status_code in (404, 405)


# --- the link, its QR code and the command ---------------------------------------------------------


def test_the_link_names_an_address_another_device_can_open() -> None:
    assert pairing.link_base("0.0.0.0", 8000, lan=lambda: "192.168.1.20") == "http://192.168.1.20:8000"
    assert pairing.link_base("0.0.0.0", 8000, lan=lambda: None) == "http://127.0.0.1:8000"
    assert pairing.link_base("10.0.0.5", 9000) == "http://10.0.0.5:9000"
    assert pairing.link_base("fe80::1", 8000) == "http://[fe80::1]:8000"
    assert pairing.pairing_link("http://10.0.0.5:9000/", "abc") == "http://10.0.0.5:9000/pair/abc"


def test_the_terminal_shows_a_qr_code_only_for_a_link_a_phone_can_open() -> None:
    network = pairing.pairing_message("http://192.168.1.20:8000/pair/" + "a" * 22)
    assert "█" in network and "works once, for 10 minutes" in network
    local = pairing.pairing_message("http://127.0.0.1:8000/pair/" + "a" * 22)
    assert "█" not in local and "--host 0.0.0.0" in local


def test_the_access_log_keeps_no_pairing_code() -> None:
    assert redact_link_tokens("/pair/AbC_dEf-123456789012") == "/pair/…"


def test_aiorch_pair_prints_a_link_the_server_accepts(settings: Settings, monkeypatch) -> None:
    monkeypatch.setenv("AIORCH_DATA_DIR", str(settings.data_dir))
    pairing.store_path(settings).parent.mkdir(parents=True, exist_ok=True)
    pairing.base_file(settings).write_text("http://192.168.1.20:8123\n")  # what `aiorch serve` wrote
    printed = CliRunner().invoke(cli, ["pair"])
    assert printed.exit_code == 0, printed.output
    line = next(w for w in printed.output.split() if w.startswith("http://192.168.1.20:8123/pair/"))
    code = line.rsplit("/", 1)[1]
    assert pairing.PairingStore(pairing.store_path(settings)).spend_code(code) is True
