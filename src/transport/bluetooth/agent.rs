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
    pub pin: Option<String>,
    /// Accept numeric comparison and "just works" pairing (SSP without a PIN).
    pub confirm: bool,
    /// Be BlueZ's default agent (answers for pairings other devices start).
    pub default: bool,
    /// Status lines: passkeys to compare, refusals.
    pub report: Arc<dyn Fn(&str) + Send + Sync>,
}

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

/// The devices an agent paired (answered a PIN or confirmation for) since it started.
#[derive(Clone, Default, Debug)]
pub struct Answered(Arc<Mutex<HashSet<Address>>>);

impl Answered {
    fn add(&self, device: Address) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(device);
        }
    }

    pub fn contains(&self, device: Address) -> bool {
        self.0
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
    report: Arc<dyn Fn(&str) + Send + Sync>,
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
    /// The agent `serve` runs on `adapter` (default agent when the policy says so), noting
    /// the phones it pairs in `answered`.
    pub fn agent(&self, adapter: Option<String>, answered: Answered) -> Agent {
        self.build(
            Scope {
                adapter,
                device: None,
                report: self.report.clone(),
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
                report: self.report.clone(),
            },
            false,
            Answered::default(),
        )
    }

    fn build(&self, scope: Scope, default: bool, answered: Answered) -> Agent {
        let pin = self.pin.clone();
        let confirm = self.confirm;
        let passkey = pin.as_deref().and_then(|pin| pin.parse::<u32>().ok());
        let mut agent = Agent {
            request_default: default,
            ..Default::default()
        };
        {
            let (scope, pin, answered) = (scope.clone(), pin.clone(), answered.clone());
            agent.request_pin_code = Some(Box::new(move |request| {
                let (scope, pin, answered) = (scope.clone(), pin.clone(), answered.clone());
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    match pin {
                        Some(pin) => {
                            tracing::info!(device = %request.device, "answered a PIN request");
                            answered.add(request.device);
                            Ok(pin)
                        }
                        None => {
                            (scope.report)(&format!(
                                "Bluetooth: {} asked for a PIN and none is configured: refused",
                                request.device
                            ));
                            Err(ReqError::Rejected)
                        }
                    }
                })
            }));
        }
        {
            let (scope, answered) = (scope.clone(), answered.clone());
            agent.request_passkey = Some(Box::new(move |request| {
                let (scope, answered) = (scope.clone(), answered.clone());
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    match passkey {
                        Some(passkey) => {
                            answered.add(request.device);
                            Ok(passkey)
                        }
                        None => Err(ReqError::Rejected),
                    }
                })
            }));
        }
        {
            let scope = scope.clone();
            agent.display_passkey = Some(Box::new(move |request| {
                let scope = scope.clone();
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    (scope.report)(&format!(
                        "Bluetooth: type {:06} on {} to pair",
                        request.passkey, request.device
                    ));
                    Ok(())
                })
            }));
        }
        {
            let scope = scope.clone();
            agent.display_pin_code = Some(Box::new(move |request| {
                let scope = scope.clone();
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    (scope.report)(&format!(
                        "Bluetooth: type {} on {} to pair",
                        request.pincode, request.device
                    ));
                    Ok(())
                })
            }));
        }
        {
            let (scope, answered) = (scope.clone(), answered.clone());
            agent.request_confirmation = Some(Box::new(move |request| {
                let (scope, answered) = (scope.clone(), answered.clone());
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    if confirm {
                        (scope.report)(&format!(
                            "Bluetooth: pairing with {}: passkey {:06} (the phone shows the same)",
                            request.device, request.passkey
                        ));
                        answered.add(request.device);
                        Ok(())
                    } else {
                        Err(ReqError::Rejected)
                    }
                })
            }));
        }
        {
            let (scope, answered) = (scope.clone(), answered.clone());
            agent.request_authorization = Some(Box::new(move |request| {
                let (scope, answered) = (scope.clone(), answered.clone());
                Box::pin(async move {
                    scope.check(&request.adapter, request.device)?;
                    if confirm {
                        answered.add(request.device);
                        Ok(())
                    } else {
                        Err(ReqError::Rejected)
                    }
                })
            }));
        }
        {
            let scope = scope.clone();
            agent.authorize_service = Some(Box::new(move |request| {
                let scope = scope.clone();
                Box::pin(async move {
                    // Services of trusted devices are authorized by BlueZ itself; anything
                    // else asks us, and only the phone being paired gets a yes.
                    if scope.device == Some(request.device) {
                        Ok(())
                    } else {
                        Err(ReqError::Rejected)
                    }
                })
            }));
        }
        agent
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
            report: Arc::new(|_: &str| {}),
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
