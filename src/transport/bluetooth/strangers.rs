//! Strangers that came and went: with no agent of ours running, an unpaired phone's connection
//! is refused (authentication) before BlueZ hands us anything, so devices are watched coming
//! and going to tell the user: one watcher per device, a bounded number of them.
//!
//! What the watcher sees is only that an unpaired device connected and left. A legacy phone
//! whose PIN request nobody answered looks the same as one that only read our SDP record (the
//! pairing request went to another agent, or to none, and BlueZ 5.66 publishes no reason for a
//! disconnection), so the report says what was seen and what to do if it was a phone that
//! wanted to sync, never that something was refused. Our own agent (`serve --bt-agent`) hears
//! each pairing request and reports refusals itself.

use std::sync::Arc;

use bluer::{Adapter, Address};
use futures::StreamExt;

/// Devices watched at once at most: a crowd of strangers in range cannot make us hold more.
const MAX_WATCHED_DEVICES: usize = 64;

pub(super) async fn watch_strangers(adapter: Adapter, report: Arc<dyn Fn(&str) + Send + Sync>) {
    let Ok(events) = adapter.events().await else {
        return;
    };
    let mut events = std::pin::pin!(events);
    let mut tasks = tokio::task::JoinSet::new();
    let mut watched = WatchedDevices::default();
    if let Ok(known) = adapter.device_addresses().await {
        for address in known {
            if watched.start(address) {
                let task = tasks.spawn(watch_device(adapter.clone(), address, report.clone()));
                watched.started(address, task);
            }
        }
    }
    while let Some(event) = events.next().await {
        match event {
            // BlueZ announces a device again when it comes back into range: one watcher
            // per device, so each refusal is reported once.
            bluer::AdapterEvent::DeviceAdded(address) if watched.start(address) => {
                let task = tasks.spawn(watch_device(adapter.clone(), address, report.clone()));
                watched.started(address, task);
            }
            bluer::AdapterEvent::DeviceRemoved(address) => watched.stop(address),
            _ => {}
        }
        // Reap finished watchers (their device object went away).
        while let Some(Ok(())) = tasks.try_join_next() {}
    }
}

/// One watcher per device, at most [`MAX_WATCHED_DEVICES`].
#[derive(Default)]
struct WatchedDevices(std::collections::HashMap<Address, tokio::task::AbortHandle>);

impl WatchedDevices {
    /// Whether a watcher should start for `address` (none yet, and room).
    fn start(&mut self, address: Address) -> bool {
        self.0.retain(|_, task| !task.is_finished());
        !self.0.contains_key(&address) && self.0.len() < MAX_WATCHED_DEVICES
    }

    fn started(&mut self, address: Address, task: tokio::task::AbortHandle) {
        self.0.insert(address, task);
    }

    fn stop(&mut self, address: Address) {
        if let Some(task) = self.0.remove(&address) {
            task.abort();
        }
    }
}

async fn watch_device(adapter: Adapter, address: Address, report: Arc<dyn Fn(&str) + Send + Sync>) {
    use bluer::{DeviceEvent, DeviceProperty};
    let Ok(device) = adapter.device(address) else {
        return;
    };
    let Ok(events) = device.events().await else {
        return;
    };
    let mut events = std::pin::pin!(events);
    let mut stranger_connected =
        device.is_connected().await.unwrap_or(false) && !device.is_paired().await.unwrap_or(true);
    while let Some(DeviceEvent::PropertyChanged(property)) = events.next().await {
        match property {
            DeviceProperty::Connected(true) => {
                stranger_connected = !device.is_paired().await.unwrap_or(true);
            }
            DeviceProperty::Connected(false) if stranger_connected => {
                stranger_connected = false;
                if !device.is_paired().await.unwrap_or(true) {
                    let name = device.alias().await.unwrap_or_else(|_| address.to_string());
                    tracing::info!(device = %address, %name, "an unpaired device came and went");
                    report(&visit_report(&name, address));
                }
            }
            DeviceProperty::Paired(true) => stranger_connected = false,
            _ => {}
        }
    }
}

/// What the user is told of an unpaired device that connected and left.
fn visit_report(name: &str, address: Address) -> String {
    format!(
        "Bluetooth: {name} ({address}) connected without pairing and left; if it is a phone \
         that tried to sync, pair it first (`handsync pair {address}`, or \
         `handsync pair --accept` and pair from the phone)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_is_not_called_a_refusal() {
        let line = visit_report("Nokia 6230i", Address::new([0, 0x1B, 0xAF, 1, 2, 3]));
        assert!(!line.contains("refused"), "{line}");
        assert!(line.contains("handsync pair 00:1B:AF:01:02:03"), "{line}");
    }

    #[test]
    fn one_watcher_per_device_and_a_bounded_number() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            let mut watched = WatchedDevices::default();
            let address = |n: u8| Address::new([0, 0xAA, 0, 0, 0, n]);
            for n in 0..MAX_WATCHED_DEVICES as u8 {
                assert!(watched.start(address(n)));
                watched.started(address(n), tasks.spawn(std::future::pending::<()>()));
                assert!(!watched.start(address(n)), "a device added again");
            }
            assert!(!watched.start(address(200)), "no room");
            watched.stop(address(0));
            assert!(watched.start(address(200)), "room again");
            assert!(
                watched.start(address(0)),
                "a removed device may be watched again"
            );
        });
    }
}
