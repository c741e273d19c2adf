#!/usr/bin/env python3
"""A SAML 2.0 identity provider for the tests: issues a Response whose Assertion
is signed the way real IdPs sign (XML-DSig enveloped signature, exclusive XML
canonicalisation, RSA-SHA256, SHA-256 digest) using signxml, an independent
implementation of the standard.

Usage:
  saml_idp.py keys DIR                 write idp.key (PKCS#8 PEM) and idp.crt (X.509 PEM) into DIR
  saml_idp.py response DIR OPTIONS...  print a signed Response (XML) for a test user
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
    xml = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{issue}" Destination="{a.destination or a.recipient}" InResponseTo="{a.in_response_to}"><saml:Issuer>{a.issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="{assertion_id}" Version="2.0" IssueInstant="{issue}"><saml:Issuer>{a.issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{a.email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{a.not_on_or_after}" Recipient="{a.recipient}" InResponseTo="{a.in_response_to}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{a.not_before}" NotOnOrAfter="{a.not_on_or_after}"><saml:AudienceRestriction><saml:Audience>{a.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issue}" SessionIndex="{assertion_id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{a.email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="displayName"><saml:AttributeValue>{a.name}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"""
    root = etree.fromstring(xml.encode())
    assertion = root.find(f"{{{SAML}}}Assertion")
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(assertion, key=key, cert=cert, reference_uri=assertion_id)
    root.replace(assertion, signed)
    sys.stdout.write(etree.tostring(root).decode())


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "keys":
        return keys(sys.argv[2])
    p = argparse.ArgumentParser()
    p.add_argument("command")
    p.add_argument("directory")
    for opt in ("issuer", "audience", "recipient", "in-response-to", "email", "name", "id", "not-before", "not-on-or-after", "destination"):
        p.add_argument(f"--{opt}", default="")
    a = p.parse_args()
    response(a.directory, a)


if __name__ == "__main__":
    main()
