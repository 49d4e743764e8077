"""An EHR's SMART authorization server and a FHIR server that demands its tokens, both real HTTP servers on loopback.

``TokenServer`` is the OAuth token endpoint of SMART Backend Services. It checks each client assertion the
way the spec obliges an authorization server to: the signature, with the key of the client's registered
JWK Set that the ``kid`` header names and whose ``kty`` fits ``alg``; ``iss`` = ``sub`` = the client id;
``aud`` = its own URL; ``exp`` present and at most five minutes ahead; a ``jti`` never seen before. It
issues opaque bearer tokens, remembers them, and can revoke them. Tests can make it refuse every client
(``refuse_with``), answer like a server in trouble (``outage``) or answer slowly (``delay``).

``ProtectedFhir`` is the FHIR server: ``.well-known/smart-configuration`` without a token, everything else
only with a token the TokenServer issued and still honours (401 otherwise). It records every request. With
``upstream`` (the Medplum test server) it forwards what it lets through; without, it answers an empty
searchset Bundle.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY_TYPES = {"RS384": "RSA", "ES384": "EC"}
MAX_ASSERTION_LIFETIME = 300
#: Request headers the FHIR proxy passes on to the upstream server, and answer headers it passes back.
FORWARDED = ("Accept", "Content-Type", "If-Match", "If-None-Exist", "Prefer")
RETURNED = ("Content-Type", "ETag", "Location", "Last-Modified")


@functools.cache
def key_pair(algorithm: str = "RS384", kid: str = "routing-1") -> tuple[str, dict[str, Any]]:
    """A new private key for ``algorithm`` (PEM, unencrypted PKCS#8) and the JWK Set of its public key.

    Cached per (algorithm, kid) so a test session makes each key once; pass another ``kid`` for another key.
    """
    if algorithm == "RS384":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk.pop("key_ops", None)  # "use" says it: a signature key
    return pem, {"keys": [{**jwk, "kid": kid, "alg": algorithm, "use": "sig"}]}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def json_answer(status: int, body: object, **headers: str) -> Answer:
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})


class _LoopbackServer:
    """A ThreadingHTTPServer on a free 127.0.0.1 port, in a thread; subclasses answer in ``answer``."""

    def __init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: _LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = server.answer(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    return Handler


@dataclass(frozen=True)
class TokenRequest:
    """One token request as the server saw it, and what it answered."""

    form: dict[str, str]
    headers: dict[str, str]
    #: The assertion's JOSE header and claims, when it could be read at all.
    jose_header: dict[str, Any] | None
    claims: dict[str, Any] | None
    status: int
    error: str | None
    access_token: str | None


class TokenServer(_LoopbackServer):
    """The SMART token endpoint at ``/auth/token`` for one registered client (see module doc)."""

    def __init__(self, client_id: str, jwks: dict[str, Any], *, expires_in: int = 300) -> None:
        super().__init__()
        self.client_id = client_id
        self.jwks = jwks
        self.expires_in = expires_in
        #: When set, every token request is refused with this OAuth error (after the assertion is checked).
        self.refuse_with: str | None = None
        #: When set, every token request gets this HTTP status and no token (a server in trouble).
        self.outage: int | None = None
        #: Seconds to wait before answering a token request.
        self.delay = 0.0
        self.requests: list[TokenRequest] = []
        self._seen_jti: set[str] = set()
        self._tokens: dict[str, float] = {}  # token -> time.monotonic() it expires

    @property
    def url(self) -> str:
        return f"{self.origin}/auth/token"

    def honours(self, token: str) -> bool:
        """Whether ``token`` was issued here, is not revoked and has not expired."""
        with self.lock:
            return self._tokens.get(token, 0.0) > time.monotonic()

    def revoke_all(self) -> None:
        with self.lock:
            self._tokens.clear()

    @property
    def issued(self) -> list[str]:
        """The access tokens issued so far, in order."""
        return [request.access_token for request in self.requests if request.access_token]

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if (method, path) != ("POST", "/auth/token"):
            return json_answer(404, {"error": "not_found"})
        if self.delay:
            time.sleep(self.delay)
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        jose_header = claims = None
        if self.outage is not None:
            status, error, token = self.outage, None, None
        else:
            try:
                jose_header, claims = self._authenticate(form, headers)
                status, error = (401, self.refuse_with) if self.refuse_with else (200, None)
            except _Refused as refused:
                status, error = refused.status, refused.error
            token = self._issue() if status == 200 else None
        with self.lock:
            self.requests.append(TokenRequest(form, dict(headers), jose_header, claims, status, error, token))
        if token is not None:
            return json_answer(
                200,
                {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in, "scope": form["scope"]},
                **{"Cache-Control": "no-store"},
            )
        if error is None:
            return Answer(status, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        # A description that echoes what was sent, as some servers do: the client must not repeat it.
        echoed = f"rejected assertion {form.get('client_assertion')}"
        return json_answer(status, {"error": error, "error_description": echoed})

    def _authenticate(self, form: dict[str, str], headers: Mapping[str, str]) -> tuple[dict, dict]:
        """Check the request and its client assertion as SMART's client-confidential-asymmetric says."""
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            raise _Refused(400, "invalid_request")
        if form.get("grant_type") != "client_credentials":
            raise _Refused(400, "unsupported_grant_type")
        if not form.get("scope"):
            raise _Refused(400, "invalid_scope")
        if form.get("client_assertion_type") != ASSERTION_TYPE or "client_assertion" not in form:
            raise _Refused(401, "invalid_client")
        assertion = form["client_assertion"]
        try:
            jose_header = jwt.get_unverified_header(assertion)
            algorithm = jose_header["alg"]
            candidates = [
                key
                for key in self.jwks["keys"]
                if key.get("kid") == jose_header.get("kid") and key.get("kty") == KEY_TYPES.get(algorithm)
            ]
            if jose_header.get("typ") != "JWT" or len(candidates) != 1:
                raise _Refused(401, "invalid_client")
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(candidates[0], algorithm=algorithm).key,
                algorithms=[algorithm],
                audience=self.url,
                issuer=self.client_id,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except (jwt.InvalidTokenError, jwt.PyJWKError, KeyError):
            raise _Refused(401, "invalid_client") from None
        if claims["sub"] != self.client_id or claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME:
            raise _Refused(401, "invalid_client")
        with self.lock:
            if claims["jti"] in self._seen_jti:  # a replayed assertion
                raise _Refused(401, "invalid_client")
            self._seen_jti.add(claims["jti"])
        return jose_header, claims

    def _issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[token] = time.monotonic() + self.expires_in
        return token


class _Refused(Exception):
    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class FhirRequest:
    """One request to the protected FHIR server."""

    method: str
    path: str
    authorization: str | None
    status: int


class ProtectedFhir(_LoopbackServer):
    """A FHIR server at ``/fhir`` that honours the TokenServer's bearer tokens (see module doc)."""

    def __init__(self, tokens: TokenServer, *, upstream: str | None = None, smart_configuration: bool = True) -> None:
        super().__init__()
        self.tokens = tokens
        self.upstream = upstream.rstrip("/") + "/" if upstream else None
        self.smart_configuration = smart_configuration
        #: Answer 401 to every call, whatever its token (a server that will not take this client).
        self.refuse_all = False
        #: Redirect every call it lets through to this origin, same path (a server moved elsewhere).
        self.redirect_to: str | None = None
        self.requests: list[FhirRequest] = []
        self.discoveries = 0
        self._upstream = requests.Session()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/fhir"

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if path == "/fhir/.well-known/smart-configuration" and method == "GET":
            with self.lock:
                self.discoveries += 1
            if not self.smart_configuration:
                return json_answer(404, {"resourceType": "OperationOutcome"})
            return json_answer(
                200,
                {
                    "token_endpoint": self.tokens.url,
                    "grant_types_supported": ["client_credentials"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                    "capabilities": ["client-confidential-asymmetric", "permission-v2"],
                },
            )
        authorization = headers.get("Authorization")
        token = authorization.removeprefix("Bearer ") if authorization and authorization.startswith("Bearer ") else ""
        if self.refuse_all or not self.tokens.honours(token):
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            answer = json_answer(401, {"resourceType": "OperationOutcome"}, **challenge)
        elif self.redirect_to is not None:
            answer = Answer(302, b"", {"Location": self.redirect_to + path})
        elif self.upstream is None:
            answer = json_answer(200, {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []})
        else:
            answer = self._forward(method, path, headers, body)
        with self.lock:
            self.requests.append(FhirRequest(method, path, authorization, answer.status))
        return answer

    def _forward(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        response = self._upstream.request(
            method,
            self.upstream + path.removeprefix("/fhir/"),
            headers={name: headers[name] for name in FORWARDED if name in headers},
            data=body or None,
            timeout=10,
        )
        returned = {name: response.headers[name] for name in RETURNED if name in response.headers}
        return Answer(response.status_code, response.content, returned)

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self._upstream.close()
