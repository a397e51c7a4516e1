//! The tty itself: a pty opened through `SerialPort` carries bytes both ways for tokio, line
//! ends left over from the switch never reach the OBEX drivers, a missing device is a clear
//! error, and `handsync sync` wants exactly one of --serial and --obex-tcp.

mod serial_support;

use std::process::Command;
use std::time::Duration;

use handsync::transport::serial::at::SwitchMethod;
use handsync::transport::serial::bfb::BfbCodec;
use handsync::transport::serial::{CableLink, SerialPort};
use serial_support::Pty;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_pty_carries_bytes_both_ways() {
    let pty = Pty::open();
    runtime().block_on(async {
        let mut port = SerialPort::open(&pty.path, 115_200).expect("the pty opens");
        port.write_all(b"ATZ\r").await.unwrap();
        assert_eq!(pty.read(Duration::from_secs(5)), b"ATZ\r");
        pty.write(b"\r\nOK\r\n");
        let mut answer = [0u8; 6];
        port.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"\r\nOK\r\n");
        assert_eq!(port.path(), pty.path);
    });
}

#[test]
fn line_ends_after_connect_are_dropped_before_the_first_obex_byte() {
    let pty = Pty::open();
    runtime().block_on(async {
        let mut port = SerialPort::open(&pty.path, 115_200).unwrap();
        // The "\n" of "CONNECT\r\n" arriving after the switcher was done with the line.
        pty.write(b"\n");
        tokio::time::sleep(Duration::from_millis(50)).await;
        pty.write(b"\r\n\xA0\x00\x03");
        let mut link = CableLink::new(&mut port, SwitchMethod::Cprot);
        let mut response = [0u8; 3];
        link.read_exact(&mut response).await.unwrap();
        assert_eq!(response, [0xA0, 0x00, 0x03]);
    });
}

#[test]
fn a_bfb_link_frames_what_is_written_and_unframes_what_is_read() {
    let pty = Pty::open();
    runtime().block_on(async {
        let mut port = SerialPort::open(&pty.path, 57_600).unwrap();
        let mut link = CableLink::new(&mut port, SwitchMethod::Sbfb);
        link.write_all(&[0x81, 0x00, 0x03]).await.unwrap();
        link.flush().await.unwrap();
        let wire = pty.read(Duration::from_secs(5));
        let mut phone = BfbCodec::new(4096);
        assert_eq!(phone.decode(&wire).unwrap(), [0x81, 0x00, 0x03]);
        assert_eq!(wire[0], 0x16, "a data frame");
        pty.write(&phone.encode_packet(&[0xA0, 0x00, 0x03]));
        let mut response = [0u8; 3];
        link.read_exact(&mut response).await.unwrap();
        assert_eq!(response, [0xA0, 0x00, 0x03]);
    });
}

#[test]
fn a_missing_device_is_a_clear_error() {
    runtime().block_on(async {
        let error = SerialPort::open("/dev/handsync-no-such-tty", 115_200).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("cannot open /dev/handsync-no-such-tty:"),
            "{text}"
        );
    });
}

#[test]
fn sync_wants_exactly_one_way_to_the_phone() {
    let handsync = || Command::new(env!("CARGO_BIN_EXE_handsync"));
    let neither = handsync().args(["sync"]).output().unwrap();
    assert!(!neither.status.success());
    let text = String::from_utf8_lossy(&neither.stderr);
    assert!(
        text.contains("--obex-tcp") && text.contains("--serial"),
        "{text}"
    );

    let both = handsync()
        .args(["sync", "--serial", "/dev/null", "--obex-tcp", "9999"])
        .output()
        .unwrap();
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));

    let baud_alone = handsync()
        .args(["sync", "--obex-tcp", "9999", "--baud", "9600"])
        .output()
        .unwrap();
    assert!(!baud_alone.status.success());
    assert!(String::from_utf8_lossy(&baud_alone.stderr).contains("--serial"));
}

#[test]
fn the_serial_section_of_the_configuration_is_read_and_checked() {
    use handsync::daemon::config::ConfigFile;
    use std::path::Path;
    let file = ConfigFile::parse(
        "[serial]\ndevices = [\"/dev/ttyACM0\", \"/dev/ttyUSB1\"]\nbaud = 57600\n",
        Path::new("config.toml"),
    )
    .unwrap();
    assert_eq!(file.serial.devices.len(), 2);
    assert_eq!(file.serial_baud().unwrap(), Some(57_600));

    let slow = ConfigFile::parse("[serial]\nbaud = 7\n", Path::new("config.toml")).unwrap();
    let error = slow.serial_baud().unwrap_err().to_string();
    assert!(error.contains("serial.baud = 7"), "{error}");

    let unknown = ConfigFile::parse("[serial]\nspeed = 9600\n", Path::new("config.toml"))
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("speed"), "{unknown}");
}
