//! Strangers the kernel refused: with no agent of ours running, an unpaired phone's connection
//! is refused (authentication) before BlueZ hands us anything, so devices are watched coming
//! and going to say so: one watcher per device, a bounded number of them.

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
                    tracing::warn!(device = %address, %name, "an unpaired device was refused");
                    report(&format!(
                        "Bluetooth: refused {name} ({address}): not paired; `handsync pair {address}` allows it"
                    ));
                }
            }
            DeviceProperty::Paired(true) => stranger_connected = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
