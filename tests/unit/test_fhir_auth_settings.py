"""FHIR_AUTH and the FHIR_SMART_* settings: read from the environment, checked at start, never printed."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from routing.config import DEFAULT_SMART_SCOPES, ConfigError, load_settings
from tests.scheduling.smart_servers import key_pair

FHIR = {
    "ROUTING_SCHEDULER": "fhir",
    "FHIR_BASE_URL": "https://ehr.example.org/fhir",
    "ROUTING_SCHEDULER_EVENTS_SECRET": "whsec_c2VjcmV0LW9uZQ==",
}
RSA_PEM = key_pair("RS384")[0]
EC_PEM = key_pair("ES384")[0]
SMART = {
    **FHIR,
    "FHIR_AUTH": "smart",
    "FHIR_SMART_CLIENT_ID": "routing-backend",
    "FHIR_SMART_PRIVATE_KEY": RSA_PEM,
    "FHIR_SMART_KEY_ID": "routing-1",
}


def pem_of(key, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def test_without_fhir_auth_or_a_token_no_authorization_is_sent():
    fhir = load_settings(environ=FHIR).fhir

    assert (fhir.auth, fhir.token, fhir.smart) == ("none", None, None)


def test_fhir_token_alone_still_means_a_static_bearer_token():
    fhir = load_settings(environ={**FHIR, "FHIR_TOKEN": "t0ken"}).fhir

    assert (fhir.auth, fhir.token, fhir.smart) == ("static", "t0ken", None)
    assert load_settings(environ={**FHIR, "FHIR_AUTH": "STATIC", "FHIR_TOKEN": "t0ken"}).fhir.auth == "static"


def test_smart_settings_with_their_defaults():
    fhir = load_settings(environ=SMART).fhir
    smart = fhir.smart

    assert (fhir.auth, fhir.token) == ("smart", None)
    assert (smart.client_id, smart.key_id, smart.algorithm) == ("routing-backend", "routing-1", "RS384")
    assert (smart.scopes, smart.token_url) == (DEFAULT_SMART_SCOPES, None)
    assert (
        smart.scopes
        == "system/Slot.rus system/Schedule.rs system/Appointment.cruds system/ServiceRequest.crus system/Patient.crs"
    )
    assert isinstance(smart.private_key, rsa.RSAPrivateKey)


def test_smart_settings_as_given():
    smart = load_settings(
        environ={
            **SMART,
            "FHIR_SMART_PRIVATE_KEY": EC_PEM.replace("\n", "\\n"),  # one line, as some environments hold it
            "FHIR_SMART_ALGORITHM": "es384",
            "FHIR_SMART_SCOPES": "  system/Slot.rs   system/Appointment.cruds ",
            "FHIR_SMART_TOKEN_URL": "https://auth.example.org/oauth2/token",
        }
    ).fhir.smart

    assert (smart.algorithm, smart.scopes) == ("ES384", "system/Slot.rs system/Appointment.cruds")
    assert smart.token_url == "https://auth.example.org/oauth2/token"
    assert isinstance(smart.private_key, ec.EllipticCurvePrivateKey)


def test_neither_the_private_key_nor_a_static_token_is_printed_with_the_settings():
    smart_settings = load_settings(environ=SMART)
    static_settings = load_settings(environ={**FHIR, "FHIR_TOKEN": "t0ken-secret"})

    printed = repr(smart_settings) + str(smart_settings) + repr(static_settings)

    assert "routing-backend" in printed
    assert [line for line in RSA_PEM.splitlines()[1:-1] if line in printed] == []
    assert "t0ken-secret" not in printed


def test_the_embedded_scheduler_ignores_the_fhir_auth_settings():
    assert load_settings(environ={"FHIR_AUTH": "kerberos", "FHIR_SMART_KEY_ID": "x"}).fhir is None


def other_pems() -> dict[str, str]:
    return {
        "rsa-1024": pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "ec-p256": pem_of(ec.generate_private_key(ec.SECP256R1())),
        "encrypted": pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048), b"passphrase"),
    }


PEMS = other_pems()


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {**FHIR, "FHIR_AUTH": "kerberos"},
            "FHIR_AUTH='kerberos' is not valid; use one of: none, static, smart.",
        ),
        (
            {**FHIR, "FHIR_AUTH": "static"},
            "FHIR_AUTH=static needs FHIR_TOKEN, the bearer token to send to the FHIR server.",
        ),
        (
            {**SMART, "FHIR_TOKEN": "t0ken"},
            "FHIR_TOKEN is set but FHIR_AUTH=smart; FHIR_TOKEN is only for FHIR_AUTH=static: unset it.",
        ),
        (
            {**FHIR, "FHIR_AUTH": "none", "FHIR_TOKEN": "t0ken"},
            "FHIR_TOKEN is set but FHIR_AUTH=none; FHIR_TOKEN is only for FHIR_AUTH=static: unset it.",
        ),
        (
            {**FHIR, "FHIR_TOKEN": "t0ken", "FHIR_SMART_CLIENT_ID": "routing-backend", "FHIR_SMART_SCOPES": "x"},
            "FHIR_SMART_CLIENT_ID, FHIR_SMART_SCOPES set but FHIR_AUTH=static: set FHIR_AUTH=smart to use SMART "
            "Backend Services, or unset them.",
        ),
        (
            {**FHIR, "FHIR_AUTH": "smart", "FHIR_SMART_CLIENT_ID": "routing-backend"},
            "FHIR_AUTH=smart needs FHIR_SMART_PRIVATE_KEY, FHIR_SMART_KEY_ID: the client id the EHR registered for "
            "this service, the PEM private key whose public key the EHR holds (JWKS), and that key's kid.",
        ),
        (
            {**SMART, "FHIR_SMART_CLIENT_ID": "routing backend"},
            "FHIR_SMART_CLIENT_ID must be one word of printable characters, as the EHR registered it.",
        ),
        (
            {**SMART, "FHIR_SMART_KEY_ID": "key\x07"},
            "FHIR_SMART_KEY_ID must be one word of printable characters, as the EHR registered it.",
        ),
        (
            {**SMART, "FHIR_SMART_ALGORITHM": "RS256"},
            "FHIR_SMART_ALGORITHM='RS256' is not valid; use one of: RS384, ES384.",
        ),
        (
            {**SMART, "FHIR_SMART_PRIVATE_KEY": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"},
            "FHIR_SMART_PRIVATE_KEY is not a PEM private key; give the whole key, -----BEGIN PRIVATE KEY----- to "
            "-----END PRIVATE KEY-----, with its line breaks or with them written as \\n (FHIR_SMART_ALGORITHM=RS384).",
        ),
        (
            {**SMART, "FHIR_SMART_PRIVATE_KEY": PEMS["encrypted"]},
            "FHIR_SMART_PRIVATE_KEY is encrypted; give the private key without a passphrase "
            "(FHIR_SMART_ALGORITHM=RS384).",
        ),
        (
            {**SMART, "FHIR_SMART_PRIVATE_KEY": EC_PEM},
            "FHIR_SMART_PRIVATE_KEY is an EC key on secp384r1; RS384 needs an RSA key (FHIR_SMART_ALGORITHM=RS384).",
        ),
        (
            {**SMART, "FHIR_SMART_ALGORITHM": "ES384"},
            "FHIR_SMART_PRIVATE_KEY is a 2048-bit RSA key; ES384 needs an EC key on the P-384 curve (secp384r1) "
            "(FHIR_SMART_ALGORITHM=ES384).",
        ),
        (
            {**SMART, "FHIR_SMART_ALGORITHM": "ES384", "FHIR_SMART_PRIVATE_KEY": PEMS["ec-p256"]},
            "FHIR_SMART_PRIVATE_KEY is an EC key on secp256r1; ES384 needs an EC key on the P-384 curve (secp384r1) "
            "(FHIR_SMART_ALGORITHM=ES384).",
        ),
        (
            {**SMART, "FHIR_SMART_PRIVATE_KEY": PEMS["rsa-1024"]},
            "FHIR_SMART_PRIVATE_KEY is a 1024-bit RSA key; RS384 needs at least 2048 bits "
            "(FHIR_SMART_ALGORITHM=RS384).",
        ),
        (
            {**SMART, "FHIR_SMART_SCOPES": 'system/Slot.rs "system/Appointment.cruds"'},
            "FHIR_SMART_SCOPES must be space-separated OAuth scopes, e.g. 'system/Slot.rus system/Schedule.rs "
            "system/Appointment.cruds system/ServiceRequest.crus system/Patient.crs'; one of them has a character "
            "scopes cannot hold.",
        ),
        (
            {**SMART, "FHIR_SMART_TOKEN_URL": "auth.example.org/token"},
            "FHIR_SMART_TOKEN_URL='auth.example.org/token' is not an http(s) URL; give the EHR's OAuth token "
            "endpoint, or leave it unset to read it from the FHIR server's .well-known/smart-configuration.",
        ),
    ],
    ids=[
        "unknown mode",
        "static without token",
        "smart with token",
        "none with token",
        "smart settings without smart",
        "smart missing settings",
        "client id with a space",
        "key id with a control character",
        "unsupported algorithm",
        "not a pem",
        "encrypted key",
        "ec key for rs384",
        "rsa key for es384",
        "p-256 key for es384",
        "short rsa key",
        "bad scope",
        "token url without scheme",
    ],
)
def test_a_bad_fhir_auth_setting_stops_the_start_with_a_message_naming_it(environment, message):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ=environment)

    assert str(refused.value) == message
    assert "PRIVATE KEY-----\nMII" not in str(refused.value)
