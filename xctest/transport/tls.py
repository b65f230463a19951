"""TLS for ``wss://``/``https://``: a self-signed certificate made at start (like XiVO's
nginx test setup) and client contexts with verification on (CA file or data) or off.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    """A PEM certificate with its key and SHA-256 fingerprint (``AB:CD:…``)."""

    cert_pem: bytes
    key_pem: bytes
    fingerprint: str


def self_signed(hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), days: int = 7) -> Certificate:
    """A fresh EC P-256 certificate whose SANs are ``hosts`` (IPs or DNS names)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        fingerprint=fingerprint(cert),
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as ``AB:CD:…``."""
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def load_certificate(cert_file: str, key_file: str) -> Certificate:
    """A PEM certificate and its PEM key read from files (``OSError``/``ValueError`` when
    unreadable or not PEM)."""
    with open(cert_file, "rb") as f:
        cert_pem = f.read()
    with open(key_file, "rb") as f:
        key_pem = f.read()
    cert = x509.load_pem_x509_certificate(cert_pem)
    serialization.load_pem_private_key(key_pem, password=None)  # fails early when it is no key
    return Certificate(cert_pem, key_pem, fingerprint(cert))


def server_context(cert: Certificate) -> ssl.SSLContext:
    """Server-side context serving ``cert`` (the key never touches the disk for long)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.cert_pem)
        with open(key_path, "wb") as f:
            f.write(cert.key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


def client_context(
    *, verify: bool = True, cafile: str | None = None, cadata: str | None = None
) -> ssl.SSLContext:
    """Client context: verification on against ``cafile``/``cadata`` (or the system store),
    or off entirely for a self-signed lab certificate."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=cafile, cadata=cadata)


def refusal(url: str, error: ssl.SSLCertVerificationError) -> str:
    """What to say when ``url``'s certificate was not accepted: the TLS library's reason and
    where the fix lies."""
    reason = (error.verify_message or error.reason or str(error)).rstrip(".")
    return (
        f"{url}: TLS certificate not accepted: {reason} (trust its CA with tls.ca_file in the "
        "target, serve a certificate that names this host, or set tls.verify: false)"
    )


@dataclass(frozen=True)
class CertInfo:
    """What a served certificate says: subject, the names it is valid for, issuer, expiry,
    SHA-256 fingerprint."""

    subject: str
    names: tuple[str, ...]
    issuer: str
    not_after: datetime.datetime
    fingerprint: str

    def describe(self) -> str:
        names = ", ".join(self.names) or "no subjectAltName"
        return (
            f"certificate for {names} (subject {self.subject}, issuer {self.issuer}, valid "
            f"until {self.not_after:%Y-%m-%d})"
        )


def describe_certificate(der: bytes) -> CertInfo:
    """Read a DER certificate (as a TLS handshake delivers it)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(
            [str(n) for n in san.get_values_for_type(x509.DNSName)]
            + [str(n) for n in san.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        names = ()
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        names=names,
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint(cert),
    )


@dataclass(frozen=True)
class TlsProbe:
    """One TLS handshake with a server: was its certificate accepted (``error`` says why not),
    and what it is (also when refused: a second handshake without verification reads it)."""

    verified: bool
    error: str | None
    cert: CertInfo | None


async def probe_tls(
    host: str, port: int, context: ssl.SSLContext, timeout: float = 5.0
) -> TlsProbe:
    """Handshake with ``host:port`` under ``context`` (the client's trust); never raises."""

    async def peer_der(ctx: ssl.SSLContext) -> bytes | None:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), timeout
        )
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            return ssl_object.getpeercert(binary_form=True) if ssl_object else None
        finally:
            writer.close()

    error: str | None = None
    try:
        der = await peer_der(context)
    except ssl.SSLCertVerificationError as exc:
        error = (exc.verify_message or str(exc)).rstrip(".")
        try:
            der = await peer_der(client_context(verify=False))
        except (OSError, TimeoutError, ssl.SSLError):
            der = None
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return TlsProbe(False, f"no TLS handshake with {host}:{port}: {exc!r}", None)
    cert = describe_certificate(der) if der else None
    return TlsProbe(error is None and context.verify_mode != ssl.CERT_NONE, error, cert)
