"""SMART Backend Services authorization for the FHIR client: short-lived access tokens, asked for with a signed JWT.

SMART App Launch v2 "Backend Services" (with its ``client-confidential-asymmetric`` client authentication),
as this module does it:

* **Token endpoint**: ``FHIR_SMART_TOKEN_URL``, or else the ``token_endpoint`` of
  ``<FHIR base>/.well-known/smart-configuration``, read once, at the first token request.
* **Token request**: an HTTP POST, form-encoded, of ``grant_type=client_credentials``, ``scope`` (``system/``
  scopes), ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and
  ``client_assertion``: a one-time JWT signed with the client's private key (RS384 or ES384), header
  ``alg``, ``kid`` (the key's id in the JWK Set the EHR holds) and ``typ: JWT``; claims ``iss`` = ``sub`` =
  the client id, ``aud`` = the token endpoint URL, ``exp`` at most five minutes ahead, a unique ``jti``.
* **Use**: the answer's ``access_token`` (``token_type`` bearer) goes in ``Authorization: Bearer`` on FHIR
  calls, and only on calls to URLs under the FHIR base URL. It is reused until shortly before its
  ``expires_in`` runs out, then a new one is asked for. One lock: when the token is due, one caller asks
  and the others wait for its answer, so a burst of calls does not stampede the token endpoint.
* **401**: a FHIR call answered 401 (the server dropped the token early: revoked, restarted) forgets that
  token, gets a new one and sends the call once more; a second 401 is returned to the caller.

Failures: a token endpoint that cannot be reached, times out or answers 429/5xx raises SchedulerUnavailable
(the booking stays pending and the worker retries it); a refusal (4xx, e.g. ``invalid_client``) raises
SchedulingRejected naming the OAuth ``error`` code and the HTTP status. Neither the private key, the signed
assertion nor an access token ever appears in a log line or an exception message.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from routing.adapters.scheduling.fhir_http import RETRY_STATUSES, UNAVAILABLE_ERRORS, failure_kind
from routing.adapters.scheduling.interface import SchedulerUnavailable, SchedulingError, SchedulingRejected

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
#: Seconds the authentication JWT is valid. SMART allows at most five minutes; a minute less leaves room
#: for our clock running ahead of the authorization server's.
ASSERTION_LIFETIME = 240
#: A token is replaced this many seconds before it expires (at most half its life), so a call never
#: leaves with a token that runs out on the way.
REFRESH_MARGIN = 30.0
#: The lifetime assumed when the token answer has no usable ``expires_in`` (SMART's recommended value).
DEFAULT_EXPIRES_IN = 300
#: A longer ``expires_in`` is not believed (a token is never kept more than a day).
MAX_EXPIRES_IN = 86400
MIN_RSA_BITS = 2048
# RFC 6749 section 5.2: an error code is one or more of these characters. Anything else is not repeated.
_OAUTH_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}")

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_signing_key(pem: str, algorithm: str) -> SigningKey:
    """The private key in ``pem`` (unencrypted PEM, PKCS#8 or traditional), checked fit for ``algorithm``.

    RS384 needs an RSA key of at least 2048 bits, ES384 an EC key on P-384. Raises ValueError with a
    message that says what is wrong and never quotes the key.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm {algorithm!r} is not supported; use one of: {', '.join(ALGORITHMS)}")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise ValueError("is encrypted; give the private key without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "is not a PEM private key; give the whole key, -----BEGIN PRIVATE KEY----- to -----END PRIVATE "
            "KEY-----, with its line breaks or with them written as \\n"
        ) from None
    if algorithm == "RS384":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"is {_key_kind(key)}; RS384 needs an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"is a {key.key_size}-bit RSA key; RS384 needs at least {MIN_RSA_BITS} bits")
    elif not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP384R1):
        raise ValueError(f"is {_key_kind(key)}; ES384 needs an EC key on the P-384 curve (secp384r1)")
    return key


@dataclass(frozen=True)
class _Token:
    value: str
    #: ``clock()`` time after which the token is replaced before use.
    refresh_at: float


class SmartBackendAuth(requests.auth.AuthBase):
    """A requests auth hook that sends a SMART Backend Services access token to one FHIR server.

    Set it as ``FhirHttp(..., auth=...)``. Thread-safe: one instance serves every thread or greenlet.
    ``clock`` (monotonic seconds) times the token's life and ``wall_clock`` (epoch seconds) dates the
    assertion; tests give their own.
    """

    def __init__(
        self,
        fhir_base_url: str,
        *,
        client_id: str,
        private_key: SigningKey,
        key_id: str,
        scopes: str,
        algorithm: str = "RS384",
        token_url: str | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        # As requests writes request URLs (scheme and host in lower case...), so that they can be compared.
        self._base_url = requests.Request("GET", fhir_base_url.rstrip("/") + "/").prepare().url or ""
        self._client_id = client_id
        self._key = private_key
        self._key_id = key_id
        self._scopes = scopes
        self._algorithm = algorithm
        self._token_url = token_url
        self._timeout = (connect_timeout, read_timeout)
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        # Its own session: token requests never carry the FHIR bearer, nor go through the FHIR retries
        # (a resent token request would repeat its jti, which the server must refuse as a replay).
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the bearer token to a request for a URL under the FHIR base URL, and the 401 retry."""
        if not self._is_fhir_url(request.url):
            return request  # the token goes to the FHIR server only (FhirHttp refuses other URLs anyway)
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        request.register_hook("response", self._retry_once_on_401)
        return request

    def access_token(self) -> str:
        """A valid access token: the cached one, or a new one when it is due (one request at a time)."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        with self._lock:
            # Another caller may have refreshed it while this one waited for the lock.
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = self._token = self._request_token()
            return token.value

    def client_assertion(self, token_url: str) -> str:
        """A new signed authentication JWT for the token endpoint at ``token_url`` (one use only)."""
        now = int(self._wall_clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(32),
        }
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers={"kid": self._key_id, "typ": "JWT"})

    def close(self) -> None:
        """Close the token endpoint's pooled connections."""
        self._session.close()

    # ------------------------------------------------------------------ the 401 retry

    def _retry_once_on_401(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        """On a 401 from the FHIR server, replace the token that was refused and send the call once more."""
        if response.status_code != 401 or not self._is_fhir_url(response.request.url):
            return response  # after a redirect elsewhere, the token is not sent again
        response.content  # noqa: B018 - read the 401 to the end so its connection can carry the retry
        response.close()
        self._forget(_bearer_of(response.request))
        token = self.access_token()
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {token}"
        # The copy shares the original's hooks; without this one, a second 401 is the caller's answer.
        retry.hooks = {
            event: [hook for hook in hooks if hook != self._retry_once_on_401]
            for event, hooks in response.request.hooks.items()
        }
        log.info("FHIR %s %s answered 401: retried once with a new access token", retry.method, _path(retry.url))
        again = response.connection.send(retry, **send_kwargs)
        again.history.append(response)
        again.request = retry
        return again

    def _forget(self, refused: str | None) -> None:
        """Drop the cached token if it is the one refused (not one another caller has fetched since)."""
        with self._lock:
            if self._token is not None and self._token.value == refused:
                self._token = None

    def _is_fhir_url(self, url: str | None) -> bool:
        return bool(url) and url.startswith(self._base_url)

    # ------------------------------------------------------------------ the token endpoint

    def _request_token(self) -> _Token:
        """Ask the token endpoint for a new access token (the caller holds the lock)."""
        token_url = self._token_endpoint()
        asked_at = self._clock()
        form = {
            "grant_type": "client_credentials",
            "scope": self._scopes,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(token_url),
        }
        response = self._call("SMART token request", "POST", token_url, data=form, allow_redirects=False)
        if response.status_code != 200:
            error = _oauth_error(response)
            log.error("SMART token request refused: %s (HTTP %s)", error, response.status_code)
            raise SchedulingRejected(f"SMART token request refused: {error} (HTTP {response.status_code})")
        answer = _json_object(response)
        value = answer.get("access_token")
        if not isinstance(value, str) or not value or str(answer.get("token_type", "")).lower() != "bearer":
            log.error("SMART token endpoint answered 200 without a bearer access_token")
            raise SchedulingRejected("SMART token endpoint answered without a bearer access_token")
        lifetime = _expires_in(answer.get("expires_in"))
        log.info("SMART access token obtained, valid %ss, scope %r", lifetime, answer.get("scope"))
        return _Token(value, asked_at + lifetime - min(REFRESH_MARGIN, lifetime / 2))

    def _token_endpoint(self) -> str:
        """FHIR_SMART_TOKEN_URL, or the one the FHIR server's SMART configuration names (read once)."""
        if self._token_url is None:
            self._token_url = self._discover_token_endpoint()
        return self._token_url

    def _discover_token_endpoint(self) -> str:
        url = self._base_url + ".well-known/smart-configuration"
        response = self._call("SMART configuration", "GET", url)
        if response.status_code != 200:
            log.error("SMART configuration not found at the FHIR server (HTTP %s)", response.status_code)
            raise SchedulingRejected(
                f"the FHIR server has no SMART configuration (HTTP {response.status_code}); set FHIR_SMART_TOKEN_URL"
            )
        configuration = _json_object(response)
        endpoint = configuration.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise SchedulingRejected("the FHIR server's SMART configuration names no token_endpoint URL")
        algorithms = configuration.get("token_endpoint_auth_signing_alg_values_supported")
        if isinstance(algorithms, list) and self._algorithm not in algorithms:
            log.warning("the SMART configuration does not list %s among its signing algorithms", self._algorithm)
        log.info("SMART token endpoint discovered: %s", endpoint)
        return endpoint

    def _call(self, what: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request to the authorization server; unreachable or 429/5xx becomes SchedulerUnavailable."""
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("%s failed: %s", what, failure_kind(exc))
            raise SchedulerUnavailable(f"{what} failed: {failure_kind(exc)}") from None
        except requests.RequestException as exc:
            raise SchedulingError(f"{what} could not be sent: {failure_kind(exc)}") from None
        if response.status_code in RETRY_STATUSES:
            log.warning("%s answered %s", what, response.status_code)
            response.close()
            raise SchedulerUnavailable(f"{what} answered {response.status_code}")
        return response


def _oauth_error(response: requests.Response) -> str:
    """The OAuth ``error`` code of a refusal; never its description (it may echo what was sent)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, str) and _OAUTH_ERROR_CODE.fullmatch(error):
        return error
    return "no OAuth error code"


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SchedulingRejected(f"{_path(response.url)} answered without a JSON object")
    return body


def _expires_in(raw: object) -> float:
    """The token's lifetime in seconds; SMART's five minutes when the answer gives none that makes sense."""
    if isinstance(raw, bool):
        return DEFAULT_EXPIRES_IN
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if 0 < seconds <= MAX_EXPIRES_IN else DEFAULT_EXPIRES_IN


def _bearer_of(request: requests.PreparedRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None


def _path(url: str | None) -> str:
    """The URL's path, without host or query string (which can name a patient)."""
    return urlsplit(url or "").path


def _key_kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"a {key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC key on {key.curve.name}"
    return f"a {type(key).__name__.removeprefix('_')}"
