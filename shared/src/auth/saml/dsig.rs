//! Verifying the XML signature of a SAML assertion (XML-DSig, enveloped signature,
//! exclusive canonicalisation, RSA-SHA256, SHA-256 digest — nothing weaker is
//! accepted). To defeat signature wrapping, the assertion returned is the one element
//! the signature's reference names, found at the one place SAML puts it (a direct
//! child of the Response), and a Response with more than one assertion is refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

use super::c14n::canonicalize;
use super::xml::{resolve, scope_of, Element, Scope};
use crate::kernel::error::{DomainError, DomainResult};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn refused(why: &str) -> DomainError {
    DomainError::Unauthenticated(format!("the SAML assertion was refused: {why}"))
}

/// The public key of an identity provider's certificate (PEM or base64 DER).
pub fn idp_key(certificate: &str) -> DomainResult<RsaPublicKey> {
    let body: String = certificate
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD.decode(body).map_err(|_| {
        DomainError::invalid(
            "certificate",
            "format",
            "the certificate is not PEM or base64",
        )
    })?;
    let cert = Certificate::from_der(&der).map_err(|_| {
        DomainError::invalid("certificate", "format", "the certificate is not X.509")
    })?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| {
            DomainError::invalid(
                "certificate",
                "format",
                "the certificate's key cannot be read",
            )
        })?;
    RsaPublicKey::from_public_key_der(&spki).map_err(|_| {
        DomainError::invalid("certificate", "key", "the certificate's key must be RSA")
    })
}

fn is_dsig(element: &Element, scope: &Scope, local: &str) -> bool {
    element.local() == local && resolve(&scope_of(scope, element), element.prefix()) == Some(DSIG)
}

fn algorithm<'a>(element: &'a Element, local: &str) -> Option<&'a str> {
    element.child(local).and_then(|e| e.attr("Algorithm"))
}

/// Verifies the signature of the Response's assertion with `key` and returns that
/// assertion (the only one the caller may read).
pub fn verified_assertion<'a>(
    response: &'a Element,
    key: &RsaPublicKey,
) -> DomainResult<&'a Element> {
    let root_scope = scope_of(&Vec::new(), response);
    let assertions: Vec<&Element> = response
        .elements()
        .filter(|e| e.local() == "Assertion")
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(refused("the response must carry exactly one assertion"));
    };
    let assertion: &Element = assertion;
    let id = assertion
        .attr("ID")
        .ok_or_else(|| refused("the assertion has no ID"))?;
    let assertion_scope = scope_of(&root_scope, assertion);
    let signature = assertion
        .elements()
        .find(|e| is_dsig(e, &assertion_scope, "Signature"))
        .ok_or_else(|| refused("the assertion is not signed"))?;
    let signature_scope = scope_of(&assertion_scope, signature);
    let signed_info = signature
        .child("SignedInfo")
        .ok_or_else(|| refused("no SignedInfo"))?;
    if algorithm(signed_info, "CanonicalizationMethod") != Some(EXC_C14N) {
        return Err(refused("only exclusive canonicalisation is accepted"));
    }
    if algorithm(signed_info, "SignatureMethod") != Some(RSA_SHA256) {
        return Err(refused("only RSA-SHA256 signatures are accepted"));
    }
    let references: Vec<&Element> = signed_info
        .elements()
        .filter(|e| e.local() == "Reference")
        .collect();
    let [reference] = references.as_slice() else {
        return Err(refused("the signature must have exactly one reference"));
    };
    if reference.attr("URI") != Some(format!("#{id}").as_str()) {
        return Err(refused("the signature does not cover this assertion"));
    }
    let transforms_ok = reference
        .child("Transforms")
        .map(|t| {
            t.elements()
                .all(|tr| matches!(tr.attr("Algorithm"), Some(ENVELOPED) | Some(EXC_C14N)))
        })
        .unwrap_or(false);
    if !transforms_ok {
        return Err(refused(
            "only the enveloped-signature and exclusive canonicalisation transforms are accepted",
        ));
    }
    if algorithm(reference, "DigestMethod") != Some(SHA256) {
        return Err(refused("only SHA-256 digests are accepted"));
    }
    let expected = reference
        .child("DigestValue")
        .map(|d| d.text())
        .unwrap_or_default();
    let digest = STANDARD.encode(Sha256::digest(
        canonicalize(assertion, &root_scope, Some(signature)).as_bytes(),
    ));
    if digest != expected.trim() {
        return Err(refused("the assertion was changed after it was signed"));
    }
    let signature_value: String = signature
        .child("SignatureValue")
        .map(|v| v.text())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let signature_bytes = STANDARD
        .decode(signature_value)
        .map_err(|_| refused("the signature value is not base64"))?;
    let signature_value = Signature::try_from(signature_bytes.as_slice())
        .map_err(|_| refused("the signature value is malformed"))?;
    let signed = canonicalize(signed_info, &signature_scope, None);
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(signed.as_bytes(), &signature_value)
        .map_err(|_| refused("the signature does not match the identity provider's certificate"))?;
    Ok(assertion)
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    const RESPONSE: &str = include_str!("../../../../tests/fixtures/saml/signed-response.xml");
    const CERT: &str = include_str!("../../../../tests/fixtures/saml/idp.crt");

    fn verify(xml: &str) -> DomainResult<String> {
        let doc = parse(xml)?;
        let key = idp_key(CERT)?;
        verified_assertion(&doc, &key).map(|a| a.attr("ID").unwrap_or_default().to_owned())
    }

    #[test]
    fn an_assertion_signed_by_an_independent_implementation_verifies() {
        assert_eq!(verify(RESPONSE).unwrap(), "_assertion1");
    }

    #[test]
    fn tampering_is_detected() {
        let changed =
            RESPONSE.replace("ada@acme.test</saml:NameID>", "eve@acme.test</saml:NameID>");
        assert!(verify(&changed).is_err(), "edited subject");
        let audience =
            RESPONSE.replace("<saml:Audience>https://api", "<saml:Audience>https://evil");
        assert!(verify(&audience).is_err(), "edited audience");
        let stripped = {
            let start = RESPONSE.find("<ds:Signature").unwrap();
            let end = RESPONSE.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            format!("{}{}", &RESPONSE[..start], &RESPONSE[end..])
        };
        assert!(verify(&stripped).is_err(), "signature stripped");
    }

    #[test]
    fn wrapping_a_second_assertion_is_refused() {
        let start = RESPONSE.find("<saml:Assertion").unwrap();
        let end = RESPONSE.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let forged = RESPONSE[start..end]
            .replace("_assertion1", "_evil")
            .replace("ada@acme.test", "eve@acme.test");
        let wrapped = format!("{}{}{}", &RESPONSE[..start], forged, &RESPONSE[start..]);
        assert!(verify(&wrapped).is_err());
        assert!(verify("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>").is_err());
    }

    #[test]
    fn another_key_does_not_verify() {
        let doc = parse(RESPONSE).unwrap();
        let mut rng = rsa::rand_core::OsRng;
        let other = rsa::RsaPrivateKey::new(&mut rng, 1024)
            .unwrap()
            .to_public_key();
        assert!(verified_assertion(&doc, &other).is_err());
    }
}
