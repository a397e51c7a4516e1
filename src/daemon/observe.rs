//! What the session hub tells about its sessions, for those who show it (desktop
//! notifications, progress bars): plain values, handed to a [`SessionObserver`] on the
//! hub's thread, which must return at once (it serves every session).

use crate::engine::DatastoreProgress;
use crate::store::{Datastore, DeviceRecord, SessionCounts};
use crate::transport::sessions::SessionKey;

/// After each message the hub answered.
#[derive(Debug, Clone)]
pub struct SessionProgress {
    pub session: SessionKey,
    pub transport: String,
    pub datastores: Vec<DatastoreProgress>,
    /// The bytes of the phone's message just handled, and of our answer.
    pub message_in: u64,
    pub message_out: u64,
}

/// How a session ended: told once per session, whatever ended it.
#[derive(Debug, Clone)]
pub struct SessionEnd {
    pub session: SessionKey,
    /// The phone as a person knows it ("Nokia 6230i"), else its SyncML name.
    pub phone: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Anchors moved; what changed each way, per datastore (as `handsync history` shows).
    Completed {
        /// Every datastore synced, in the order the phone alerted them.
        datastores: Vec<Datastore>,
        counts: Vec<SessionCounts>,
    },
    /// The engine ended it (authentication, protocol, limits): its reason.
    Failed { error: String },
    /// It stopped before completing (the link dropped, silence, shutdown): why, and whether
    /// the phone had logged in by then.
    Cut { why: String, logged_in: bool },
}

/// Told of the hub's sessions. Both calls run on the hub's thread: whatever takes time
/// (D-Bus, a terminal) is done elsewhere.
pub trait SessionObserver: Send + Sync + std::fmt::Debug {
    fn progress(&self, _progress: &SessionProgress) {}
    fn ended(&self, _end: &SessionEnd) {}
}

/// Several observers as one (`sync` on a terminal draws progress and may notify).
#[derive(Debug, Default)]
pub struct Observers(pub Vec<std::sync::Arc<dyn SessionObserver>>);

impl SessionObserver for Observers {
    fn progress(&self, progress: &SessionProgress) {
        for observer in &self.0 {
            observer.progress(progress);
        }
    }

    fn ended(&self, end: &SessionEnd) {
        for observer in &self.0 {
            observer.ended(end);
        }
    }
}

/// "Nokia 6230i" from the DevInf the phone sent; the model's name often repeats the maker.
pub fn phone_name(device: &DeviceRecord) -> Option<String> {
    let summary = &device.summary;
    let maker = summary.manufacturer.as_deref().map(str::trim).unwrap_or("");
    let model = summary.model.as_deref().map(str::trim).unwrap_or("");
    // Nokia's and Siemens' DevInf shout their names ("NOKIA"); people do not.
    let shouted = maker.len() > 3 && !maker.chars().any(|c| c.is_lowercase());
    let maker = if shouted {
        let mut chars = maker.chars();
        chars.next().map_or(String::new(), |first| {
            first.to_string() + &chars.as_str().to_lowercase()
        })
    } else {
        maker.to_string()
    };
    let maker = maker.as_str();
    let name = match (maker, model) {
        ("", "") => return None,
        (maker, "") => maker.to_string(),
        ("", model) => model.to_string(),
        (maker, model) if model.to_lowercase().starts_with(&maker.to_lowercase()) => {
            model.to_string()
        }
        (maker, model) => format!("{maker} {model}"),
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DevInfSummary, DeviceId, Timestamp};

    fn device(maker: Option<&str>, model: Option<&str>) -> DeviceRecord {
        DeviceRecord {
            id: DeviceId(1),
            uri: "IMEI:350000000000000".into(),
            devinf_raw: None,
            devinf_encoding: None,
            summary: DevInfSummary {
                manufacturer: maker.map(Into::into),
                model: model.map(Into::into),
                ..DevInfSummary::default()
            },
            first_seen: Timestamp::from_unix_millis(0),
            last_seen: Timestamp::from_unix_millis(0),
            next_nonce: None,
        }
    }

    #[test]
    fn phones_are_named_as_people_know_them() {
        let name = |maker, model| phone_name(&device(maker, model));
        assert_eq!(name(Some("NOKIA"), Some("6230i")).unwrap(), "Nokia 6230i");
        assert_eq!(
            name(Some("SonyEricsson"), Some("K750i")).unwrap(),
            "SonyEricsson K750i"
        );
        assert_eq!(name(Some("LG"), Some("U8180")).unwrap(), "LG U8180");
        assert_eq!(name(Some("Nokia"), Some("Nokia E51")).unwrap(), "Nokia E51");
        assert_eq!(name(None, Some("V3")).unwrap(), "V3");
        assert_eq!(name(None, None), None);
    }
}
