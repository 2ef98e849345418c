"""Who is calling: JWTs verified against a JWKS, the same code for Cognito and the local issuer.

Cognito (AWS) and the local issuer produce tokens with the same claims
(``iss``, ``sub``, ``token_use``, ``client_id`` for access tokens or ``aud``
for ID tokens, ``exp``, ``iat``). The verifier only differs in where it gets
the JWKS: Cognito's URL, or the local issuer's key in-process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from ulid import ULID

from aiorch import keys
from aiorch.settings import Settings
from aiorch.storage.local import LocalStorage

LOCAL_ISSUER = "urn:aiorch:local-issuer"
ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]

Jwks = dict[str, Any]
JwksSource = Callable[[bool], Jwks]  # called with refresh=True when a token names an unknown key


class AuthError(Exception):
    """The caller is not signed in, in plain words (becomes 401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    user: str  # the token's `sub`: every key the user owns is under it
    claims: dict[str, Any]

    @property
    def groups(self) -> list[str]:
        """The Cognito groups the token names (``cognito:groups``); none when absent or malformed."""
        named = self.claims.get(GROUPS_CLAIM)
        return [g for g in named if isinstance(g, str)] if isinstance(named, list) else []


# --- roles -----------------------------------------------------------------------------------------
# The Ops view shows the workflow's inner workings (an execution's state-by-state history) and is for
# the operators group; Analytics (every user's runs) is for the analysts group (auth_analysts_group,
# checked by context.current_analyst). Cognito writes a user's groups into both of its tokens as
# `cognito:groups` (iac/modules/auth creates the groups); the local issuer names both, since the one
# person at the machine runs it and studies it.

GROUPS_CLAIM = "cognito:groups"
OPERATORS_GROUP = "operators"
ANALYSTS_GROUP = "analysts"
LOCAL_GROUPS = (OPERATORS_GROUP, ANALYSTS_GROUP)


def role_refusal(principal: Principal, group: str, view: str, who: str) -> str | None:
    """Why ``principal`` may not open ``view`` (None when a member of ``group``): the 403's detail."""
    if group in principal.groups:
        return None
    return f"the {view} view is for {who} (the {group!r} group); ask an administrator to add you to it"


# --- verification ----------------------------------------------------------------------------------


class TokenVerifier:
    def __init__(self, issuer: str, client_id: str, jwks: JwksSource, leeway_s: int = 0) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.jwks = jwks
        self.leeway_s = leeway_s

    def _signing_key(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("the bearer token is not a well-formed JWT") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthError(f"the token must be signed with {ALGORITHM}, not {header.get('alg')!r}")
        kid = header.get("kid")
        for refresh in (False, True):  # a key rotation shows up as an unknown kid: fetch the JWKS once more
            for jwk in self.jwks(refresh).get("keys", []):
                if jwk.get("kid") == kid:
                    return jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        raise AuthError("the token was signed with a key this service does not know")

    def verify(self, token: str) -> Principal:
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": REQUIRED_CLAIMS, "verify_aud": False},  # checked below by token_use
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired: sign in again") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("the token was issued by another identity provider") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("the token's signature is not valid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"the token lacks the {exc.claim!r} claim") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"the token is not valid: {exc}") from exc
        self._check_audience(claims)
        user = str(claims["sub"])
        try:
            keys.safe_part(user, "user")
        except ValueError as exc:
            raise AuthError("the token's subject is not a usable user name") from exc
        return Principal(user=user, claims=claims)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        # Cognito access tokens carry the app client in `client_id`; ID tokens carry it in `aud`.
        use = claims.get("token_use")
        if use == "access":
            audience = claims.get("client_id")
        elif use == "id":
            audience = claims.get("aud")
        else:
            raise AuthError(f"token_use must be 'access' or 'id', not {use!r}")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise AuthError("the token was issued for another application (audience / client_id)")


class RemoteJwks:
    """A JWKS fetched from a URL (Cognito) and cached; refreshed at most once a minute on unknown keys."""

    def __init__(self, url: str, fetch: Callable[[str], Jwks] | None = None, min_refresh_s: float = 60) -> None:
        self.url = url
        self.fetch = fetch or _fetch_json
        self.min_refresh_s = min_refresh_s
        self._cached: Jwks | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, refresh: bool = False) -> Jwks:
        with self._lock:
            stale = refresh and time.monotonic() - self._fetched_at > self.min_refresh_s
            if self._cached is None or stale:
                try:
                    self._cached = self.fetch(self.url)
                except Exception as exc:  # network or JSON trouble: the caller cannot be verified
                    if self._cached is None:
                        raise AuthError("the identity provider's keys could not be fetched") from exc
                self._fetched_at = time.monotonic()
            return self._cached


def _fetch_json(url: str) -> Jwks:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return dict(json.loads(resp.read()))


# --- the local issuer ------------------------------------------------------------------------------


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def write_private_file(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 if absent, atomically; False when it already existed.

    The one create-if-absent write of local files (``LocalStorage.put_if_absent``: a complete temporary
    file, mkstemp's 0600, hard-linked into place); only the folder's 0700 is added here.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return LocalStorage(path.parent).put_if_absent(path.name, data)


class LocalIssuer:
    """Signs tokens with a per-install RSA key kept under ``<data_dir>/auth/`` (created on first use)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key_path = settings.data_dir / "auth" / "local-issuer-key.pem"
        self._private_key: rsa.RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._private_key is None:
                if not self.key_path.exists():
                    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    pem = new.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                    write_private_file(self.key_path, pem)
                loaded = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
                assert isinstance(loaded, rsa.RSAPrivateKey), f"{self.key_path} holds no RSA key"
                self._private_key = loaded
            return self._private_key

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        n, e = _b64(numbers.n), _b64(numbers.e)
        # RFC 7638 thumbprint as the key id, so it changes exactly when the key does.
        thumb = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
        kid = base64.urlsafe_b64encode(hashlib.sha256(thumb.encode()).digest()).rstrip(b"=").decode()
        return {"kty": "RSA", "alg": ALGORITHM, "use": "sig", "kid": kid, "n": n, "e": e}

    def jwks(self, refresh: bool = False) -> Jwks:
        return {"keys": [self.jwk()]}

    def issue(
        self, user: str, token_use: str = "access", ttl_s: int | None = None, groups: tuple[str, ...] = LOCAL_GROUPS
    ) -> str:
        keys.safe_part(user, "user")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": LOCAL_ISSUER,
            "sub": user,
            "username": user,
            "token_use": token_use,
            "iat": now,
            "auth_time": now,
            "exp": now + (ttl_s or self.settings.local_token_ttl_s),
            "jti": str(ULID()),
            GROUPS_CLAIM: list(groups),
        }
        if token_use == "access":
            claims["client_id"] = self.settings.auth_client_id
            claims["scope"] = "openid"
        else:
            claims["aud"] = self.settings.auth_client_id
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.jwk()["kid"]})


def uses_local_issuer(settings: Settings) -> bool:
    return settings.auth_issuer is None


def verifier_for(settings: Settings, local_issuer: LocalIssuer | None = None) -> TokenVerifier:
    """The verifier for this deployment: Cognito's JWKS when an issuer is configured, else the local one."""
    if uses_local_issuer(settings):
        issuer = local_issuer or LocalIssuer(settings)
        return TokenVerifier(LOCAL_ISSUER, settings.auth_client_id, issuer.jwks)
    assert settings.auth_issuer is not None
    jwks_url = settings.auth_jwks_url or settings.auth_issuer.rstrip("/") + "/.well-known/jwks.json"
    return TokenVerifier(settings.auth_issuer, settings.auth_client_id, RemoteJwks(jwks_url))


def issue_local_token(settings: Settings, user: str) -> str:
    """An access token for a named local user (``aiorch token --user NAME``)."""
    return LocalIssuer(settings).issue(user)
