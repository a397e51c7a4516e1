//! BlueZ's pairing questions, answered: legacy PIN (phones before Bluetooth 2.1 ask their
//! user to type the same PIN on both sides), SSP passkeys and numeric comparison.
//!
//! One bluetoothd serves every adapter of the machine, and its default agent is asked for all
//! of them; an agent of ours answers only for its own adapter (and, when pairing one phone,
//! only for that phone) so a second adapter's questions are never answered by mistake.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use bluer::agent::{Agent, ReqError, ReqResult};
use bluer::Address;

/// How to answer.
#[derive(Clone)]
pub struct AgentPolicy {
    /// The PIN for legacy pairing (also the passkey, when numeric, for SSP passkey entry).
    /// `None`: every pairing is refused.
    pub pin: Option<String>,
    /// Accept numeric comparison and "just works" pairing (SSP without a PIN).
    pub confirm: bool,
    /// Be BlueZ's default agent (answers for pairings other devices start).
    pub default: bool,
    /// Status lines: passkeys to compare, refusals.
    pub report: Arc<dyn Fn(&str) + Send + Sync>,
}

/// What a refusal report tells the user to do.
const OPEN_A_WINDOW: &str = "no pairing window is open (`handsync pair --accept` opens one)";

impl fmt::Debug for AgentPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the PIN itself: logs must not carry credentials.
        f.debug_struct("AgentPolicy")
            .field("pin", &self.pin.as_ref().map(|_| "<set>"))
            .field("confirm", &self.confirm)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

/// The devices an agent paired (answered a PIN or confirmation for) since it started, and
/// who wants to hear of each at once (a pairing window trusts it before its connection
/// arrives).
#[derive(Clone, Default, Debug)]
pub struct Answered {
    devices: Arc<Mutex<HashSet<Address>>>,
    notify: Option<tokio::sync::mpsc::UnboundedSender<Address>>,
}

impl Answered {
    /// A set that also sends each new device to `notify`.
    pub fn notifying(notify: tokio::sync::mpsc::UnboundedSender<Address>) -> Answered {
        Answered {
            devices: Arc::default(),
            notify: Some(notify),
        }
    }

    fn add(&self, device: Address) {
        let new = self
            .devices
            .lock()
            .map(|mut set| set.insert(device))
            .unwrap_or(false);
        if let (true, Some(notify)) = (new, &self.notify) {
            let _ = notify.send(device);
        }
    }

    pub fn contains(&self, device: Address) -> bool {
        self.devices
            .lock()
            .map(|set| set.contains(&device))
            .unwrap_or(false)
    }
}

/// Who an agent answers.
#[derive(Clone)]
struct Scope {
    adapter: Option<String>,
    device: Option<Address>,
}

impl Scope {
    fn covers(&self, adapter: &str, device: Address) -> bool {
        self.adapter.as_deref().is_none_or(|ours| ours == adapter)
            && self.device.is_none_or(|ours| ours == device)
    }

    /// Refuses what is not ours; reports a refusal that is.
    fn check(&self, adapter: &str, device: Address) -> ReqResult<()> {
        if self.covers(adapter, device) {
            Ok(())
        } else {
            Err(ReqError::Rejected)
        }
    }
}

impl AgentPolicy {
    /// The policy of `serve --bt-agent`: BlueZ's default agent that refuses every pairing
    /// and says so. Pairing needs a person: `handsync pair MAC` or `pair --accept`, which
    /// open a window of their own; the agent only keeps BlueZ from bonding strangers by
    /// "just works" while nobody is asked, and names the phones that tried.
    pub fn refusing(report: Arc<dyn Fn(&str) + Send + Sync>) -> AgentPolicy {
        AgentPolicy {
            pin: None,
            confirm: false,
            default: true,
            report,
        }
    }

    /// The policy of a pairing window (`handsync pair --accept`): the default agent for its
    /// adapter while the window is open, answering any phone with `pin` or a confirmed
    /// passkey that the window shows.
    pub fn window(pin: String, report: Arc<dyn Fn(&str) + Send + Sync>) -> AgentPolicy {
        AgentPolicy {
            pin: Some(pin),
            confirm: true,
            default: true,
            report,
        }
    }

    /// The agent `serve` runs on `adapter` (default agent when the policy says so), noting
    /// the phones it pairs in `answered`.
    pub fn agent(&self, adapter: Option<String>, answered: Answered) -> Agent {
        self.build(
            Scope {
                adapter,
                device: None,
            },
            self.default,
            answered,
        )
    }

    /// The agent for one pairing we start (never the default agent).
    pub fn agent_for(&self, adapter: String, device: Address) -> Agent {
        self.build(
            Scope {
                adapter: Some(adapter),
                device: Some(device),
            },
            false,
            Answered::default(),
        )
    }

    fn build(&self, scope: Scope, default: bool, answered: Answered) -> Agent {
        let mut agent = Agent {
            request_default: default,
            ..Default::default()
        };
        let decider = Arc::new(Decider {
            policy: self.clone(),
            scope,
            answered,
        });
        macro_rules! answer {
            ($field:ident, $question:expr, $reply:pat => $value:expr) => {{
                let decider = decider.clone();
                agent.$field = Some(Box::new(move |request| {
                    let decider = decider.clone();
                    Box::pin(async move {
                        #[allow(clippy::redundant_closure_call)]
                        let question = ($question)(&request);
                        match decider.decide(&request.adapter, request.device, question)? {
                            $reply => Ok($value),
                            #[allow(unreachable_patterns)]
                            _ => Err(ReqError::Rejected),
                        }
                    })
                }));
            }};
        }
        answer!(request_pin_code, |_: &_| Question::Pin, Reply::Pin(pin) => pin);
        answer!(request_passkey, |_: &_| Question::Passkey, Reply::Passkey(passkey) => passkey);
        answer!(display_passkey,
            |r: &bluer::agent::DisplayPasskey| Question::ShowPasskey(r.passkey),
            Reply::Yes => ());
        answer!(display_pin_code,
            |r: &bluer::agent::DisplayPinCode| Question::ShowPin(r.pincode.clone()),
            Reply::Yes => ());
        answer!(request_confirmation,
            |r: &bluer::agent::RequestConfirmation| Question::Confirm(r.passkey),
            Reply::Yes => ());
        answer!(request_authorization, |_: &_| Question::JustWorks, Reply::Yes => ());
        answer!(authorize_service, |_: &_| Question::Service, Reply::Yes => ());
        agent
    }
}

/// What BlueZ asks an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Question {
    /// A legacy phone's PIN.
    Pin,
    /// A passkey to type (SSP passkey entry).
    Passkey,
    /// Show this passkey for the phone's user to type.
    ShowPasskey(u32),
    /// Show this PIN for the phone's user to type.
    ShowPin(String),
    /// Numeric comparison: both sides show this passkey.
    Confirm(u32),
    /// "Just works" pairing (a phone without display or keys).
    JustWorks,
    /// An untrusted device wants one of our services.
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Pin(String),
    Passkey(u32),
    Yes,
}

/// An agent's decisions, apart from D-Bus (so that they can be tested).
struct Decider {
    policy: AgentPolicy,
    scope: Scope,
    answered: Answered,
}

impl Decider {
    fn decide(&self, adapter: &str, device: Address, question: Question) -> ReqResult<Reply> {
        self.scope.check(adapter, device)?;
        let report = &self.policy.report;
        let refuse = |what: &str| {
            report(&format!(
                "Bluetooth: {device} asked to pair ({what}): refused, {OPEN_A_WINDOW}"
            ));
            Err(ReqError::Rejected)
        };
        match question {
            Question::Pin => match &self.policy.pin {
                Some(pin) => {
                    tracing::info!(%device, "answered a PIN request");
                    self.answered.add(device);
                    Ok(Reply::Pin(pin.clone()))
                }
                None => refuse("PIN"),
            },
            Question::Passkey => {
                match self.policy.pin.as_deref().and_then(|pin| pin.parse().ok()) {
                    Some(passkey) => {
                        self.answered.add(device);
                        Ok(Reply::Passkey(passkey))
                    }
                    None => refuse("passkey"),
                }
            }
            Question::ShowPasskey(passkey) => {
                report(&format!("Bluetooth: type {passkey:06} on {device} to pair"));
                Ok(Reply::Yes)
            }
            Question::ShowPin(pin) => {
                report(&format!("Bluetooth: type {pin} on {device} to pair"));
                Ok(Reply::Yes)
            }
            Question::Confirm(passkey) if self.policy.confirm => {
                report(&format!(
                    "Bluetooth: pairing with {device}: passkey {passkey:06} (the phone shows the same)"
                ));
                self.answered.add(device);
                Ok(Reply::Yes)
            }
            Question::Confirm(passkey) => refuse(&format!("passkey {passkey:06}")),
            Question::JustWorks if self.policy.confirm => {
                report(&format!(
                    "Bluetooth: pairing with {device} (no passkey: the phone has neither display nor keys)"
                ));
                self.answered.add(device);
                Ok(Reply::Yes)
            }
            Question::JustWorks => refuse("no passkey"),
            // Services of trusted devices are authorized by BlueZ itself; anything else
            // asks us, and only the phone being paired (or just paired in a window) gets a
            // yes.
            Question::Service
                if self.scope.device == Some(device) || self.answered.contains(device) =>
            {
                Ok(Reply::Yes)
            }
            Question::Service => Err(ReqError::Rejected),
        }
    }
}

/// A fresh 4-digit PIN for a pairing the user types on the phone.
pub fn random_pin() -> String {
    format!("{:04}", crate::entropy::random_u64() % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(adapter: Option<&str>, device: Option<Address>) -> Scope {
        Scope {
            adapter: adapter.map(str::to_string),
            device,
        }
    }

    #[test]
    fn an_agent_answers_only_for_its_adapter_and_phone() {
        let phone: Address = "00:AA:01:01:00:01".parse().unwrap();
        let other: Address = "00:AA:01:01:00:02".parse().unwrap();
        // serve's agent: its adapter, any phone.
        let serving = scope(Some("hci0"), None);
        assert!(serving.covers("hci0", phone) && serving.covers("hci0", other));
        assert!(!serving.covers("hci1", phone));
        assert_eq!(serving.check("hci1", phone), Err(ReqError::Rejected));
        // `handsync pair`: one adapter, one phone.
        let pairing = scope(Some("hci0"), Some(phone));
        assert!(pairing.covers("hci0", phone));
        assert!(!pairing.covers("hci0", other) && !pairing.covers("hci1", phone));
        // No adapter named: BlueZ's default adapter, whichever it is.
        assert!(scope(None, None).covers("hci3", other));
    }

    #[test]
    fn answered_phones_are_remembered_and_pins_are_four_digits() {
        let answered = Answered::default();
        let phone: Address = "00:AA:01:01:00:01".parse().unwrap();
        assert!(!answered.contains(phone));
        answered.clone().add(phone);
        assert!(answered.contains(phone));
        for _ in 0..50 {
            let pin = random_pin();
            assert!(
                pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()),
                "{pin}"
            );
        }
    }

    #[test]
    fn a_window_hears_of_each_answered_phone_once() {
        let (notify, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let answered = Answered::notifying(notify);
        let phone: Address = "00:AA:01:01:00:01".parse().unwrap();
        answered.add(phone);
        answered.add(phone);
        assert_eq!(heard.try_recv().ok(), Some(phone));
        assert!(heard.try_recv().is_err(), "once");
    }

    /// A decider for `policy` on hci0, any phone, with what it reported.
    type Report = Arc<dyn Fn(&str) + Send + Sync>;

    fn decider(policy: fn(Report) -> AgentPolicy) -> (Decider, Lines) {
        let lines = Lines::default();
        let sink = lines.clone();
        let report: Report =
            Arc::new(move |line: &str| sink.0.lock().unwrap().push(line.to_string()));
        let decider = Decider {
            policy: policy(report),
            scope: scope(Some("hci0"), None),
            answered: Answered::default(),
        };
        (decider, lines)
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<String>>>);

    #[test]
    fn serve_refuses_every_pairing_and_says_how_to_allow_it() {
        let (decider, lines) = decider(AgentPolicy::refusing);
        let phone: Address = "00:AA:01:01:00:01".parse().unwrap();
        for question in [
            Question::Pin,
            Question::Passkey,
            Question::Confirm(123456),
            Question::JustWorks,
            Question::Service,
        ] {
            assert_eq!(
                decider.decide("hci0", phone, question.clone()),
                Err(ReqError::Rejected),
                "{question:?}"
            );
        }
        assert!(!decider.answered.contains(phone));
        let lines = lines.0.lock().unwrap();
        assert_eq!(lines.len(), 4, "each pairing question reported: {lines:?}");
        assert!(lines
            .iter()
            .all(|l| l.contains("refused") && l.contains("handsync pair --accept")));
    }

    #[test]
    fn a_window_answers_any_phone_shows_the_passkey_and_authorizes_it_after() {
        let (decider, lines) = decider(|report| AgentPolicy::window("4321".into(), report));
        let phone: Address = "00:AA:01:01:00:01".parse().unwrap();
        let other: Address = "00:AA:01:01:00:02".parse().unwrap();
        assert_eq!(
            decider.decide("hci0", other, Question::Service),
            Err(ReqError::Rejected),
            "a service for a device that did not pair"
        );
        assert_eq!(
            decider.decide("hci0", phone, Question::Confirm(987654)),
            Ok(Reply::Yes)
        );
        assert!(lines.0.lock().unwrap()[0].contains("987654"), "shown");
        assert_eq!(
            decider.decide("hci0", phone, Question::Service),
            Ok(Reply::Yes)
        );
        assert_eq!(
            decider.decide("hci0", other, Question::Pin),
            Ok(Reply::Pin("4321".into()))
        );
        assert_eq!(
            decider.decide("hci0", other, Question::Passkey),
            Ok(Reply::Passkey(4321))
        );
        assert_eq!(
            decider.decide("hci1", other, Question::Pin),
            Err(ReqError::Rejected),
            "another adapter's question"
        );
    }

    #[test]
    fn the_policy_never_shows_its_pin() {
        let policy = AgentPolicy {
            pin: Some("8642".into()),
            confirm: true,
            default: false,
            report: Arc::new(|_: &str| {}),
        };
        let shown = format!("{policy:?}");
        assert!(
            !shown.contains("8642") && shown.contains("<set>"),
            "{shown}"
        );
    }
}
