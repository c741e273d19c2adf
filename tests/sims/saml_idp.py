#!/usr/bin/env python3
"""A SAML 2.0 identity provider for the tests: issues a Response whose Assertion
is signed the way real IdPs sign (XML-DSig enveloped signature, exclusive XML
canonicalisation, RSA-SHA256, SHA-256 digest) using signxml, an independent
implementation of the standard.

Usage:
  saml_idp.py keys DIR                 write idp.key (PKCS#8 PEM) and idp.crt (X.509 PEM) into DIR
  saml_idp.py response DIR OPTIONS...  print a signed Response (XML) for a test user
  saml_idp.py respond DIR --request B64 --issuer IDP --email E [--name N] [--expired]
              [--audience A] [--unsolicited]
                                       answer an SP's AuthnRequest (HTTP-Redirect encoding) the
                                       way the IdP would: print the base64 SAMLResponse to POST
Options of `response`: --issuer --audience --recipient --in-response-to --email --name
  --id --not-before --not-on-or-after (RFC 3339) --destination
"""

import argparse
import datetime
import sys
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def keys(directory):
    import os
    os.makedirs(directory, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Firmament test IdP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    with open(f"{directory}/idp.key", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(f"{directory}/idp.crt", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def response(directory, a):
    key = open(f"{directory}/idp.key", "rb").read()
    cert = open(f"{directory}/idp.crt", "rb").read()
    assertion_id = a.id or "_" + uuid.uuid4().hex
    issue = a.not_before
    irt = f' InResponseTo="{a.in_response_to}"' if a.in_response_to else ""
    xml = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{issue}" Destination="{a.destination or a.recipient}"{irt}><saml:Issuer>{a.issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="{issue}"><saml:Issuer>{a.issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{a.email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{a.not_on_or_after}" Recipient="{a.recipient}"{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{a.not_before}" NotOnOrAfter="{a.not_on_or_after}"><saml:AudienceRestriction><saml:Audience>{a.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issue}" SessionIndex="{assertion_id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{a.email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="displayName"><saml:AttributeValue>{a.name}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"""
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{SAML}}}Assertion")
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(assertion, key=key, cert=cert, reference_uri=assertion_id)
    root.replace(assertion, signed)
    sys.stdout.write(etree.tostring(root).decode())


def respond(directory, argv):
    import base64
    import zlib
    p = argparse.ArgumentParser()
    for opt in ("request", "issuer", "email", "name", "audience"):
        p.add_argument(f"--{opt}", default="")
    p.add_argument("--expired", action="store_true")
    p.add_argument("--unsolicited", action="store_true")
    a = p.parse_args(argv)
    request = etree.fromstring(zlib.decompress(base64.b64decode(a.request), -15))
    acs = request.get("AssertionConsumerServiceURL")
    sp_entity = request.find(f"{{{SAML}}}Issuer").text
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = now - datetime.timedelta(hours=2) if a.expired else now - datetime.timedelta(seconds=30)
    end = now - datetime.timedelta(hours=1) if a.expired else now + datetime.timedelta(minutes=5)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    ns = argparse.Namespace(issuer=a.issuer, audience=a.audience or sp_entity, recipient=acs,
                            in_response_to="" if a.unsolicited else request.get("ID"), email=a.email, name=a.name or a.email,
                            id="", not_before=fmt(start), not_on_or_after=fmt(end), destination=acs)
    import io
    out = io.StringIO()
    real = sys.stdout
    sys.stdout = out
    try:
        response(directory, ns)
    finally:
        sys.stdout = real
    xml = out.getvalue()
    sys.stdout.write(base64.b64encode(xml.encode()).decode())


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "keys":
        return keys(sys.argv[2])
    if len(sys.argv) >= 3 and sys.argv[1] == "respond":
        return respond(sys.argv[2], sys.argv[3:])
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("directory")
    for opt in ("issuer", "audience", "recipient", "in-response-to", "email", "name", "id", "not-before", "not-on-or-after", "destination"):
        p.add_argument(f"--{opt}", default="")
    a = p.parse_args()
    response(a.directory, a)


if __name__ == "__main__":
    main()
