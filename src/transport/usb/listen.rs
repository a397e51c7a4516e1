//! `serve` on USB: phones plugged in now and later (nusb's hotplug watch on the kernel's
//! uevents) get their OBEX functions claimed and served, so a phone's own "Sync" starts a
//! session as it does on a cable. A phone is served until it is unplugged; a plugged phone
//! is physically at this machine, which is the invitation (as a cable is).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

use super::{describe, open_obex, phones, NamedObex, UsbError, UsbPhone, TRANSPORT};
use crate::transport::obex::{serve_phone, CallOptions, ConnectionEnd, ObexServerOptions};
use crate::transport::sessions::HubHandle;

/// What a plugged phone is sent when the PC starts its sync (the SAN and OBEX settings).
pub type PlugCall = Arc<dyn Fn(&UsbPhone) -> CallOptions + Send + Sync>;

/// What `serve` does with USB.
#[derive(Clone)]
pub struct UsbListen {
    pub obex: ObexServerOptions,
    /// The PC starts a sync with each phone plugged in (as PC Suite did), then serves the
    /// phone's own syncs; `None`: the phone starts.
    pub sync_on_plug: Option<PlugCall>,
    /// Status lines for the user (stdout under systemd: the journal).
    pub report: Arc<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for UsbListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbListen")
            .field("obex", &self.obex)
            .finish()
    }
}

/// A phone just plugged in shows its functions in sysfs once the kernel has read its
/// configuration; the hotplug event may come first.
const SETTLE: Duration = Duration::from_millis(500);

/// nusb's hotplug events are udevd's (sent once its rules, uaccess included, have run); where
/// no udevd runs (containers, minimal systems) sysfs is looked at this often instead.
const RESCAN: Duration = Duration::from_secs(3);

/// The phones being served, by device node (a phone plugged in again gets a new one).
type Served = Arc<std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>>;

/// Watches for phones until `shutdown`; serves each in a task of its own.
pub async fn serve(listen: UsbListen, hub: HubHandle, mut shutdown: watch::Receiver<bool>) {
    let report = listen.report.clone();
    let served: Served = Arc::default();
    // Subscribe before listing, so a phone plugged in between is not missed.
    let mut watch = match nusb::watch_devices() {
        Ok(watch) => Some(watch),
        Err(e) => {
            report(&format!(
                "USB: no hotplug events ({e}): looking every {} s",
                RESCAN.as_secs()
            ));
            None
        }
    };
    match phones() {
        Ok(plugged) => {
            report(&format!(
                "USB: watching for phones ({} plugged in)",
                plugged.len()
            ));
            for phone in plugged {
                start(&listen, &hub, &served, phone);
            }
        }
        Err(e) => report(&format!("{e}; watching for phones anyway")),
    }
    let mut rescan = tokio::time::interval(RESCAN);
    rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let hotplug = async {
            match watch.as_mut() {
                Some(watch) => watch.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = hotplug => match event {
                Some(nusb::hotplug::HotplugEvent::Connected(info)) => {
                    tokio::time::sleep(SETTLE).await;
                    if let Some(phone) = describe(info) {
                        start(&listen, &hub, &served, phone);
                    }
                }
                Some(nusb::hotplug::HotplugEvent::Disconnected(_)) => {}
                None => watch = None,
            },
            _ = rescan.tick() => {
                let plugged = phones().unwrap_or_default();
                // A phone gone is forgotten, so a node the kernel hands out again is new.
                if let Ok(mut served) = served.lock() {
                    served.retain(|node| plugged.iter().any(|p| &p.node == node));
                }
                for phone in plugged {
                    start(&listen, &hub, &served, phone);
                }
            }
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Until the daemon stops (the watch's guard is not held across an await).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serves `phone` unless it is served already.
fn start(listen: &UsbListen, hub: &HubHandle, served: &Served, phone: UsbPhone) {
    let node = phone.node.clone();
    if !served
        .lock()
        .is_ok_and(|mut served| served.insert(node.clone()))
    {
        return;
    }
    if phone.obex.is_empty() {
        // A modem only: `serve --serial /dev/ttyACMn` or `sync --usb` reach it.
        (listen.report)(&format!(
            "USB: {} offers no OBEX function, only a modem{}",
            phone.label(),
            phone
                .modems
                .iter()
                .find_map(|m| m.tty.as_ref())
                .map_or(String::new(), |tty| format!(
                    " ({}: `handsync sync --usb {}` switches it to OBEX)",
                    tty.display(),
                    phone.port
                ))
        ));
        return;
    }
    let span = tracing::info_span!("usb_phone", transport = TRANSPORT, port = %phone.port);
    let listen = listen.clone();
    let hub = hub.clone();
    let served = served.clone();
    tokio::spawn(
        async move {
            if let Some(options_for) = &listen.sync_on_plug {
                let options = options_for(&phone);
                (listen.report)(&format!("USB: {} plugged in: the PC starts a sync", phone.label()));
                let line = match super::call(&phone, hub.clone(), &options).await {
                    Ok((function, report)) if report.completed => format!(
                        "USB: {}: session completed on \"{function}\" ({} messages from the phone)",
                        phone.label(),
                        report.messages_received
                    ),
                    Ok((function, _)) => format!(
                        "USB: {}: the session on \"{function}\" did not complete: the next sync catches up",
                        phone.label()
                    ),
                    Err(e) => format!("USB: {}: {e}", phone.label()),
                };
                (listen.report)(&line);
            }
            let phone = Arc::new(phone);
            // Every OBEX function is served: the phone starts on the one it syncs over, and
            // a phone that names none leaves no other way to know which.
            let tasks: Vec<_> = phone
                .syncml_candidates()
                .into_iter()
                .cloned()
                .map(|function| {
                    let (listen, hub, phone) = (listen.clone(), hub.clone(), phone.clone());
                    tokio::spawn(
                        async move { serve_function(&listen, hub, &phone, &function).await }
                            .in_current_span(),
                    )
                })
                .collect();
            (listen.report)(&format!(
                "USB: {} plugged in: waiting for it to sync",
                phone.label()
            ));
            let mut reported = false;
            for task in tasks {
                if let Ok(Err(e)) = task.await {
                    if matches!(e, UsbError::Unplugged) {
                        continue;
                    }
                    if !reported {
                        (listen.report)(&format!("{e}"));
                        reported = true;
                    }
                }
            }
            if reported {
                // Not served (no permission, held by another program...): it stays known
                // until it is unplugged, so the rescan does not repeat the same complaint
                // every few seconds.
                return;
            }
            (listen.report)(&format!("USB: {} unplugged", phone.label()));
            if let Ok(mut served) = served.lock() {
                served.remove(&node);
            }
        }
        .instrument(span),
    );
}

/// Serves one OBEX function of a plugged phone, one OBEX connection after another, until the
/// phone goes away.
async fn serve_function(
    listen: &UsbListen,
    hub: HubHandle,
    phone: &UsbPhone,
    function: &NamedObex,
) -> Result<(), UsbError> {
    let mut pipe = open_obex(phone, &function.function).await?;
    loop {
        match serve_phone(&mut pipe, hub.clone(), TRANSPORT, None, &listen.obex).await {
            Ok(ConnectionEnd::Disconnected) => continue,
            Ok(ConnectionEnd::TimedOut) => continue,
            Ok(_) => break,
            Err(e) if super::is_unplugged(&e) => break,
            Err(e) => {
                tracing::info!(%e, "USB: OBEX function ended");
                break;
            }
        }
    }
    pipe.close().await;
    Ok(())
}
