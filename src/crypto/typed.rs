//! Typed sealing of entity fields (strings, JSON, optional columns) in one call.

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::crypto::{CryptoError, Place, TenantKeys};

impl TenantKeys {
    pub fn seal_str(&self, place: &Place, value: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(place, value.as_bytes())
    }

    pub fn open_string(&self, place: &Place, stored: &[u8]) -> Result<String, CryptoError> {
        let plain = self.open(place, stored)?;
        std::str::from_utf8(&plain)
            .map(str::to_owned)
            .map_err(|_| CryptoError::Encoding("sealed value is not UTF-8"))
    }

    pub fn seal_json<T: Serialize + ?Sized>(
        &self,
        place: &Place,
        value: &T,
    ) -> Result<Vec<u8>, CryptoError> {
        let json = Zeroizing::new(
            serde_json::to_vec(value)
                .map_err(|_| CryptoError::InvalidInput("value cannot be serialised as JSON"))?,
        );
        self.seal(place, &json)
    }

    pub fn open_json<T: DeserializeOwned>(
        &self,
        place: &Place,
        stored: &[u8],
    ) -> Result<T, CryptoError> {
        let plain = self.open(place, stored)?;
        serde_json::from_slice(&plain)
            .map_err(|_| CryptoError::Encoding("sealed value is not the expected JSON"))
    }

    /// `None` stays `None` (a NULL column), so absence is not encrypted.
    pub fn seal_opt_str(
        &self,
        place: &Place,
        value: Option<&str>,
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        value.map(|v| self.seal_str(place, v)).transpose()
    }

    pub fn open_opt_string(
        &self,
        place: &Place,
        stored: Option<&[u8]>,
    ) -> Result<Option<String>, CryptoError> {
        stored.map(|s| self.open_string(place, s)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use serde::Deserialize;
    use uuid::Uuid;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Media {
        mime: String,
        size: u64,
        caption: Option<String>,
    }

    fn keys() -> TenantKeys {
        TenantKeys::new(Uuid::new_v4(), vec![(1, DataKey::generate().unwrap())], 1).unwrap()
    }

    #[test]
    fn str_round_trip() {
        let k = keys();
        let p = Place::new("messages", "body", Uuid::new_v4());
        for s in ["", "hello", "héllo wörld 👋", &"x".repeat(10_000)] {
            let sealed = k.seal_str(&p, s).unwrap();
            assert!(!sealed.windows(5).any(|w| w == b"hello"));
            assert_eq!(k.open_string(&p, &sealed).unwrap(), s);
        }
    }

    #[test]
    fn json_round_trip() {
        let k = keys();
        let p = Place::new("messages", "media", Uuid::new_v4());
        let m = Media {
            mime: "image/jpeg".into(),
            size: 12345,
            caption: Some("cat".into()),
        };
        let sealed = k.seal_json(&p, &m).unwrap();
        assert_eq!(k.open_json::<Media>(&p, &sealed).unwrap(), m);
        assert!(matches!(
            k.open_json::<u64>(&p, &sealed),
            Err(CryptoError::Encoding(_))
        ));
        let other = Place::new("messages", "media", Uuid::new_v4());
        assert!(matches!(
            k.open_json::<Media>(&other, &sealed),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn option_round_trip() {
        let k = keys();
        let p = Place::new("contacts", "nickname", Uuid::new_v4());
        assert_eq!(k.seal_opt_str(&p, None).unwrap(), None);
        assert_eq!(k.open_opt_string(&p, None).unwrap(), None);
        let sealed = k.seal_opt_str(&p, Some("Bob")).unwrap().unwrap();
        assert_eq!(
            k.open_opt_string(&p, Some(&sealed)).unwrap().as_deref(),
            Some("Bob")
        );
        let some_empty = k.seal_opt_str(&p, Some("")).unwrap().unwrap();
        assert_eq!(
            k.open_opt_string(&p, Some(&some_empty)).unwrap().as_deref(),
            Some("")
        );
    }

    #[test]
    fn non_utf8_plaintext_is_an_encoding_error() {
        let k = keys();
        let p = Place::new("t", "c", Uuid::new_v4());
        let sealed = k.seal(&p, &[0xff, 0xfe]).unwrap();
        assert!(matches!(
            k.open_string(&p, &sealed),
            Err(CryptoError::Encoding(_))
        ));
    }
}
