//! Send rules checked before anything reaches Meta: the 24-hour service window, consent, and
//! how a contact is addressed.
use crate::messaging::outbound::{Outbound, Recipient};
use crate::store::contacts::CONSENT_OPTED_OUT;
use crate::store::sealed::ContactPlain;

/// Free-form messages are allowed for 24 hours after the contact last wrote.
pub const SERVICE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Longest text body Meta accepts.
pub const MAX_TEXT_CHARS: usize = 4096;

/// Why a message may not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    OutsideServiceWindow,
    OptedOut,
    /// Neither a phone number nor a business-scoped user id is known.
    NoAddress,
}

/// Whether the service window is open at `now` for a contact who last wrote at `last_inbound`.
pub fn window_open(last_inbound: Option<i64>, now: i64) -> bool {
    last_inbound.is_some_and(|at| now.saturating_sub(at) < SERVICE_WINDOW_MS)
}

/// Checks the rules for sending `msg` to `contact` at `now` and names the recipient.
pub fn check(contact: &ContactPlain, msg: &Outbound, now: i64) -> Result<Recipient, Refusal> {
    if contact.restricted || contact.consent_status == CONSENT_OPTED_OUT {
        return Err(Refusal::OptedOut);
    }
    if matches!(msg, Outbound::Text { .. }) && !window_open(contact.last_inbound_at, now) {
        return Err(Refusal::OutsideServiceWindow);
    }
    recipient(contact).ok_or(Refusal::NoAddress)
}

/// A phone number when known; otherwise the business-scoped user id.
pub fn recipient(contact: &ContactPlain) -> Option<Recipient> {
    let non_empty = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    non_empty(&contact.wa_id)
        .map(Recipient::Phone)
        .or_else(|| non_empty(&contact.user_id).map(Recipient::UserId))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn contact(last_inbound_at: Option<i64>) -> ContactPlain {
        ContactPlain {
            id: Uuid::nil(),
            wa_id: Some("15550001111".into()),
            user_id: Some("US.1".into()),
            profile_name: None,
            display_name: None,
            attributes: json!({}),
            consent_status: "unknown".into(),
            restricted: false,
            created_at: 0,
            updated_at: 0,
            last_inbound_at,
        }
    }

    fn text() -> Outbound {
        Outbound::Text { body: "hi".into() }
    }

    fn template() -> Outbound {
        Outbound::Template {
            name: "t".into(),
            language: "en".into(),
            components: None,
        }
    }

    #[test]
    fn text_needs_an_open_window_and_templates_do_not() {
        let now = 100 * SERVICE_WINDOW_MS;
        let recent = contact(Some(now - SERVICE_WINDOW_MS + 1));
        let stale = contact(Some(now - SERVICE_WINDOW_MS));
        let never = contact(None);
        assert!(check(&recent, &text(), now).is_ok());
        assert_eq!(
            check(&stale, &text(), now),
            Err(Refusal::OutsideServiceWindow)
        );
        assert_eq!(
            check(&never, &text(), now),
            Err(Refusal::OutsideServiceWindow)
        );
        assert!(check(&stale, &template(), now).is_ok());
    }

    #[test]
    fn opted_out_or_restricted_contacts_get_nothing() {
        let mut c = contact(Some(0));
        c.consent_status = CONSENT_OPTED_OUT.into();
        assert_eq!(check(&c, &template(), 1), Err(Refusal::OptedOut));
        let mut r = contact(Some(0));
        r.restricted = true;
        assert_eq!(check(&r, &text(), 1), Err(Refusal::OptedOut));
    }

    #[test]
    fn phone_is_preferred_then_user_id() {
        let mut c = contact(Some(0));
        assert!(matches!(recipient(&c), Some(Recipient::Phone(p)) if p == "15550001111"));
        c.wa_id = None;
        assert!(matches!(recipient(&c), Some(Recipient::UserId(u)) if u == "US.1"));
        c.user_id = Some(" ".into());
        assert_eq!(check(&c, &template(), 1), Err(Refusal::NoAddress));
    }
}
