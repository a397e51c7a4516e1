//! A pairing window (`handsync pair --accept`): for a set time, and only then, the adapter is
//! visible and pairable and an agent of ours answers any phone that pairs from its own menu,
//! showing the passkey or PIN to the person who opened the window. The first phone that
//! pairs is trusted (so `serve` serves it) and the window closes.
//!
//! Outside a window nobody pairs with handsync's help: `serve --bt-agent` refuses every
//! pairing and says how to open a window. BlueZ keeps its default agents in a stack, so the
//! window's agent answers while it is open, and `serve`'s answers again after.

use std::time::Duration;

use bluer::Address;

use super::agent::{AgentPolicy, Answered};
use super::{adapter_state, bluez, open_adapter, BtError};

/// The phone a window paired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPaired {
    pub device: Address,
    pub name: Option<String>,
}

/// Opens a pairing window on the adapter for `open_for`, reporting through `progress`.
pub async fn accept_pairing(
    adapter_name: Option<&str>,
    policy: AgentPolicy,
    open_for: Duration,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<WindowPaired, BtError> {
    let (session, adapter) = open_adapter(adapter_name).await?;
    let (address, powered) = adapter_state(&adapter).await?;
    if !powered {
        return Err(BtError::AdapterOff(adapter.name().to_string()));
    }
    let (notify, mut answered_devices) = tokio::sync::mpsc::unbounded_channel();
    let answered = Answered::notifying(notify);
    let agent = session
        .register_agent(policy.agent(Some(adapter.name().to_string()), answered))
        .await
        .map_err(bluez("registering the pairing agent"))?;
    let was_discoverable = adapter.is_discoverable().await.unwrap_or(false);
    let was_pairable = adapter.is_pairable().await.unwrap_or(false);
    // BlueZ's own timeouts close the window too, should this process die while it is open.
    let seconds = open_for.as_secs().clamp(1, u32::MAX as u64) as u32;
    let _ = adapter.set_discoverable_timeout(seconds).await;
    let _ = adapter.set_pairable_timeout(seconds).await;
    adapter
        .set_pairable(true)
        .await
        .map_err(bluez("making the adapter pairable"))?;
    adapter
        .set_discoverable(true)
        .await
        .map_err(bluez("making the adapter visible"))?;
    progress(&format!(
        "Bluetooth: pairing window open for {seconds} s on {} ({address}): pair from the phone's \
         Bluetooth menu with this PC",
        adapter.name()
    ));

    let deadline = tokio::time::Instant::now() + open_for;
    let mut pending: Vec<Address> = Vec::new();
    let outcome = loop {
        tokio::select! {
            device = answered_devices.recv() => {
                let Some(device) = device else { continue };
                // Trusted at once, before the phone's connection to our service arrives:
                // `serve` serves paired and trusted phones only.
                if let Ok(handle) = adapter.device(device) {
                    let _ = handle.set_trusted(true).await;
                }
                pending.push(device);
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = tokio::time::sleep_until(deadline) => break None,
        }
        let mut paired = None;
        for device in &pending {
            if let Ok(handle) = adapter.device(*device) {
                if handle.is_paired().await.unwrap_or(false) {
                    paired = Some(WindowPaired {
                        device: *device,
                        name: handle.alias().await.ok(),
                    });
                    break;
                }
            }
        }
        if paired.is_some() {
            break paired;
        }
    };
    // A phone answered but never paired keeps no trust.
    for device in &pending {
        if outcome.as_ref().map(|p| p.device) != Some(*device) {
            if let Ok(handle) = adapter.device(*device) {
                if !handle.is_paired().await.unwrap_or(false) {
                    let _ = handle.set_trusted(false).await;
                }
            }
        }
    }
    let _ = adapter.set_discoverable(was_discoverable).await;
    let _ = adapter.set_pairable(was_pairable).await;
    drop(agent);
    progress("Bluetooth: pairing window closed");
    outcome.ok_or(BtError::NoPairing { waited: open_for })
}
