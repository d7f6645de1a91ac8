//! The deletion certificate: what a wipe removed and kept, signed with the service's Ed25519
//! certificate key over a canonical JSON encoding, and verifiable offline from the file alone.
//!
//! The signature covers every top-level field except `signature`, encoded as compact JSON with
//! object keys sorted at every level, so re-indenting or re-ordering the file does not break it
//! while any change of a value, a key or an added field does.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{CertSigner, CryptoError, verify_signature};

pub const FORMAT: &str = "wavault-deletion-certificate/1";
pub const ALGORITHM: &str = "Ed25519";

/// A billing record that survived the wipe, and until when it is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeptBillingRecord {
    pub id: Uuid,
    pub invoice_number: String,
    pub retain_until: String,
}

/// A signed deletion certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeletionCertificate {
    pub format: String,
    pub tenant_id: Uuid,
    pub request_id: Uuid,
    pub requested_at: String,
    pub requested_by: Uuid,
    /// `user` (the tenant's owner) or `staff`.
    pub requested_by_kind: String,
    pub executed_at: String,
    /// The staff member who ran it; absent when the scheduled job did.
    pub executed_by: Option<Uuid>,
    /// `staff`, `job` or `cli`.
    pub executed_by_kind: String,
    /// Rows deleted per tenant table, every table listed (zero included).
    pub rows_removed: BTreeMap<String, u64>,
    pub total_rows_removed: u64,
    pub key_versions_destroyed: Vec<i32>,
    pub billing_records_kept: Vec<KeptBillingRecord>,
    pub algorithm: String,
    /// Identifier of the signing key (first 8 bytes of SHA-256 of the public key, hex).
    pub key_id: String,
    /// The Ed25519 public key, base64, for offline verification.
    pub public_key: String,
    /// Ed25519 signature (base64) of the canonical encoding of every other field.
    pub signature: String,
}

/// The facts a certificate states, before signing.
pub struct Facts {
    pub tenant_id: Uuid,
    pub request_id: Uuid,
    pub requested_at: String,
    pub requested_by: Uuid,
    pub requested_by_kind: String,
    pub executed_at: String,
    pub executed_by: Option<Uuid>,
    pub executed_by_kind: String,
    pub rows_removed: BTreeMap<String, u64>,
    pub key_versions_destroyed: Vec<i32>,
    pub billing_records_kept: Vec<KeptBillingRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not a JSON object with a signature, public_key and key_id")]
    Malformed,
    #[error("the certificate was signed by key {found}, not by the configured key {expected}")]
    OtherKey { found: String, expected: String },
    #[error("the signature does not match the certificate's content")]
    BadSignature,
}

/// Signs the facts with `signer`.
pub fn issue(signer: &CertSigner, f: Facts) -> Result<DeletionCertificate, CertificateError> {
    let mut cert = DeletionCertificate {
        format: FORMAT.into(),
        tenant_id: f.tenant_id,
        request_id: f.request_id,
        requested_at: f.requested_at,
        requested_by: f.requested_by,
        requested_by_kind: f.requested_by_kind,
        executed_at: f.executed_at,
        executed_by: f.executed_by,
        executed_by_kind: f.executed_by_kind,
        total_rows_removed: f.rows_removed.values().sum(),
        rows_removed: f.rows_removed,
        key_versions_destroyed: f.key_versions_destroyed,
        billing_records_kept: f.billing_records_kept,
        algorithm: ALGORITHM.into(),
        key_id: signer.key_id(),
        public_key: signer.public_key_b64(),
        signature: String::new(),
    };
    let value = serde_json::to_value(&cert).map_err(|_| CertificateError::Malformed)?;
    cert.signature = signer.sign(signed_bytes(&value)?.as_bytes());
    Ok(cert)
}

/// The canonical text the signature covers: every top-level field but `signature`.
fn signed_bytes(cert: &Value) -> Result<String, CertificateError> {
    let Value::Object(map) = cert else {
        return Err(CertificateError::Malformed);
    };
    let mut body = map.clone();
    body.remove("signature");
    let mut out = String::new();
    canonical(&Value::Object(body), &mut out);
    Ok(out)
}

/// Compact JSON with object keys in byte order at every level.
pub fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn field<'a>(cert: &'a Value, name: &str) -> Result<&'a str, CertificateError> {
    cert.get(name)
        .and_then(Value::as_str)
        .ok_or(CertificateError::Malformed)
}

/// Offline check: the signature against the public key the certificate names.
pub fn verify(cert: &Value) -> Result<(), CertificateError> {
    let public_key = field(cert, "public_key")?;
    let signature = field(cert, "signature")?;
    if field(cert, "algorithm")? != ALGORITHM {
        return Err(CertificateError::Malformed);
    }
    match verify_signature(public_key, signed_bytes(cert)?.as_bytes(), signature) {
        Ok(()) => Ok(()),
        Err(CryptoError::Signature) => Err(CertificateError::BadSignature),
        Err(_) => Err(CertificateError::Malformed),
    }
}

/// Check against this service's key: the certificate must name it and its signature must hold.
pub fn verify_with(signer: &CertSigner, cert: &Value) -> Result<(), CertificateError> {
    let key_id = field(cert, "key_id")?;
    if field(cert, "public_key")? != signer.public_key_b64() || key_id != signer.key_id() {
        return Err(CertificateError::OtherKey {
            found: key_id.chars().take(64).collect(),
            expected: signer.key_id(),
        });
    }
    verify(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn signer(seed: u8) -> CertSigner {
        CertSigner::from_seed_b64(&base64::engine::general_purpose::STANDARD.encode([seed; 32]))
            .unwrap()
    }

    fn sample(s: &CertSigner) -> Value {
        let cert = issue(
            s,
            Facts {
                tenant_id: Uuid::new_v4(),
                request_id: Uuid::new_v4(),
                requested_at: "2026-11-02T09:00:00.000Z".into(),
                requested_by: Uuid::new_v4(),
                requested_by_kind: "staff".into(),
                executed_at: "2026-11-11T09:00:00.000Z".into(),
                executed_by: None,
                executed_by_kind: "job".into(),
                rows_removed: [("messages".to_owned(), 3), ("users".to_owned(), 2)].into(),
                key_versions_destroyed: vec![1, 2],
                billing_records_kept: vec![KeptBillingRecord {
                    id: Uuid::new_v4(),
                    invoice_number: "INV-1".into(),
                    retain_until: "2033-11-02T00:00:00.000Z".into(),
                }],
            },
        )
        .unwrap();
        assert_eq!(cert.total_rows_removed, 5);
        serde_json::to_value(cert).unwrap()
    }

    #[test]
    fn verifies_and_survives_reordering() {
        let s = signer(1);
        let v = sample(&s);
        verify(&v).unwrap();
        verify_with(&s, &v).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        verify(&serde_json::from_str(&pretty).unwrap()).unwrap();
    }

    #[test]
    fn any_change_breaks_it() {
        let s = signer(1);
        let v = sample(&s);
        let mut edits: Vec<Value> = Vec::new();
        let mut e = v.clone();
        e["rows_removed"]["messages"] = 2.into();
        edits.push(e);
        let mut e = v.clone();
        e["key_versions_destroyed"] = serde_json::json!([1]);
        edits.push(e);
        let mut e = v.clone();
        e["executed_at"] = "2026-11-12T09:00:00.000Z".into();
        edits.push(e);
        let mut e = v.clone();
        e["extra"] = true.into();
        edits.push(e);
        let mut e = v.clone();
        e["billing_records_kept"][0]["retain_until"] = "2030-01-01T00:00:00.000Z".into();
        edits.push(e);
        for e in &edits {
            assert!(
                matches!(verify(e), Err(CertificateError::BadSignature)),
                "{e}"
            );
        }
        let mut e = v.clone();
        e["signature"] = "AAAA".into();
        assert!(verify(&e).is_err());
        assert!(verify(&Value::Null).is_err());
    }

    #[test]
    fn another_key_is_refused_against_the_configured_one() {
        let other = signer(2);
        let v = sample(&other);
        verify(&v).unwrap();
        assert!(matches!(
            verify_with(&signer(1), &v),
            Err(CertificateError::OtherKey { .. })
        ));
    }

    #[test]
    fn canonical_sorts_keys_and_escapes() {
        let v = serde_json::json!({"b": [1, {"z": null, "a": "x\"y"}], "a": true});
        let mut out = String::new();
        canonical(&v, &mut out);
        assert_eq!(out, r#"{"a":true,"b":[1,{"a":"x\"y","z":null}]}"#);
    }
}
