//! `handsync pair`: pair with a phone over Bluetooth (legacy PIN or SSP) and trust it, so
//! `serve` serves it and `sync --bt` can call it; and the Bluetooth part of `devices`.

use handsync_proto::irda::dongle::DongleKind;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::sync::parse_bt_address;
use super::Failure;
use crate::transport::bluetooth::agent::{random_pin, AgentPolicy};
use crate::transport::bluetooth::window::accept_pairing;
use crate::transport::bluetooth::{self, Paired};

#[derive(Args, Debug)]
pub struct PairArgs {
    /// The phone's Bluetooth address (its "My phone's address" screen, or `bluetoothctl
    /// scan on`): the PC starts the pairing.
    #[arg(value_name = "MAC", value_parser = parse_bt_address, required_unless_present = "accept")]
    device: Option<bluer::Address>,

    /// Open a pairing window instead: for --timeout seconds the PC is visible and pairable,
    /// the first phone that pairs from its own menu is accepted (its passkey or the PIN
    /// shown here) and trusted, and the window closes. Outside a window nobody pairs.
    #[arg(long, conflicts_with = "device")]
    accept: bool,

    /// The PIN to type on the phone (phones before Bluetooth 2.1 ask for one). Default: a
    /// random 4-digit PIN, printed.
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,

    /// The Bluetooth adapter (hci0...). Default: BlueZ's default adapter.
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,

    /// Seconds to find the phone and to pair (the user has to answer on the phone), or how
    /// long the window stays open.
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

pub fn pair(args: &PairArgs) -> Result<(), Failure> {
    let pin = match &args.pin {
        Some(pin) if pin.is_empty() || pin.len() > 16 => {
            return Err(Failure::bad_input(
                "--pin: a PIN has 1 to 16 characters".to_string(),
            ))
        }
        Some(pin) => pin.clone(),
        None => random_pin(),
    };
    if args.pin.is_none() {
        // Only a PIN we made up is printed: the user needs it, and it is good for this
        // pairing only.
        println!("PIN for the phone (if it asks): {pin}");
    }
    let report: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| println!("{line}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("async runtime: {e}")))?;
    let timeout = Duration::from_secs(args.timeout);
    let Some(device) = args.device else {
        let paired = runtime
            .block_on(accept_pairing(
                args.adapter.as_deref(),
                AgentPolicy::window(pin, report.clone()),
                timeout,
                report.as_ref(),
            ))
            .map_err(|e| Failure::io(e.to_string()))?;
        println!(
            "paired with {} ({}) and trusted it: `handsync serve` syncs it",
            paired.name.as_deref().unwrap_or("a phone"),
            paired.device
        );
        return Ok(());
    };
    let policy = AgentPolicy {
        pin: Some(pin),
        confirm: true,
        default: false,
        report: report.clone(),
    };
    let paired = runtime
        .block_on(bluetooth::pair(
            args.adapter.as_deref(),
            device,
            policy,
            timeout,
            report.as_ref(),
        ))
        .map_err(|e| Failure::io(e.to_string()))?;
    match paired {
        Paired::Now => println!("paired with {device} and trusted it"),
        Paired::Already => println!("{device} was paired already; now trusted"),
    }
    Ok(())
}

/// The paired phones of the adapter, or why there are none to show.
pub fn bluetooth_devices(adapter: Option<&str>) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("async runtime: {e}")))?;
    let listed = runtime.block_on(async {
        let (_session, adapter) = bluetooth::open_adapter(adapter).await?;
        let phones = bluetooth::paired_phones(&adapter).await?;
        Ok::<_, bluetooth::BtError>((adapter.name().to_string(), phones))
    });
    match listed {
        Ok((adapter, phones)) if phones.is_empty() => {
            println!("\nBluetooth ({adapter}): no paired phones (`handsync pair MAC`)");
        }
        Ok((adapter, phones)) => {
            println!("\nBluetooth ({adapter}), paired:");
            for phone in phones {
                println!(
                    "  {}  {}{}{}{}",
                    phone.address,
                    phone.name.as_deref().unwrap_or("(no name)"),
                    if phone.trusted {
                        ", trusted"
                    } else {
                        ", not trusted (serve refuses it)"
                    },
                    if phone.syncml_client {
                        ", SyncML client"
                    } else {
                        ""
                    },
                    if phone.connected { ", connected" } else { "" },
                );
            }
        }
        Err(e) => println!("\n{e}"),
    }
    Ok(())
}

/// `handsync devices --usb`: the phones plugged in and what each offers.
pub fn usb_devices() -> Result<(), Failure> {
    use crate::transport::usb;
    let phones = usb::phones().map_err(|e| Failure::io(e.to_string()))?;
    if phones.is_empty() {
        println!(
            "USB: no phone plugged in (a phone in \"PC Suite\" mode offers CDC OBEX or a modem)"
        );
        return Ok(());
    }
    println!("USB:");
    for phone in phones {
        println!("  {}  {}", phone.port, phone.label());
        for (rank, candidate) in phone.syncml_candidates().into_iter().enumerate() {
            let function = &candidate.function;
            println!(
                "    OBEX \"{}\": interfaces {}/{}{}",
                candidate.name.as_deref().unwrap_or("(no name)"),
                function.control_interface,
                function.data_interface,
                if rank == 0 {
                    ", tried first for SyncML"
                } else {
                    ""
                }
            );
        }
        for modem in &phone.modems {
            println!(
                "    modem \"{}\": interface {}, {}",
                modem.name.as_deref().unwrap_or("(no name)"),
                modem.control_interface,
                modem
                    .tty
                    .as_ref()
                    .map_or("no tty (cdc_acm not bound)".to_string(), |t| t
                        .display()
                        .to_string())
            );
        }
        for problem in &phone.unusable {
            println!("    unusable OBEX function: {problem}");
        }
        let readable = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&phone.node)
            .is_ok();
        if !readable {
            println!(
                "    {} is not writable by you: install udev/70-handsync-usb.rules (udev/README.md)",
                phone.node.display()
            );
        }
    }
    Ok(())
}

/// `handsync devices --irda DEVICE`: the stations in infrared range of a dongle.
pub fn irda_devices(device: &str, kind: Option<DongleKind>) -> Result<(), Failure> {
    use crate::transport::irda;
    let spec = irda::DongleSpec::parse(device, kind)
        .map_err(|e| Failure::bad_input(format!("--irda {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("async runtime: {e}")))?;
    let found = runtime.block_on(async {
        let port = irda::open(&spec).await?;
        irda::discover(port, irda::new_address(), None)
            .await
            .map(|(_, found)| found)
    });
    let found = found.map_err(|e| Failure::io(e.to_string()))?;
    if found.is_empty() {
        println!(
            "IrDA: nobody in range of {} (a phone's infrared must be on and face the dongle)",
            spec.label()
        );
        return Ok(());
    }
    println!("IrDA, in range of {}:", spec.label());
    for station in &found {
        println!("  {}", irda::describe(station));
    }
    Ok(())
}
