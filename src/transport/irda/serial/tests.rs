use super::*;
use crate::transport::serial::open_pty;
use handsync_proto::irda::sir::encode_frame;

/// A Plain dongle on a pty's slave end, and the master end as the far side of the "air".
async fn plain_on_pty() -> (SerialDongle, SerialPort) {
    let (master, path) = open_pty().expect("openpty");
    let master = SerialPort::from_owned_fd(master, "pty master").expect("register master");
    let dongle = SerialDongle::open(&path, DongleKind::Plain)
        .await
        .expect("a plain dongle opens on a pty");
    (dongle, master)
}

fn sir(frame: &[u8], extra_bofs: u16) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(frame, extra_bofs, &mut out);
    out
}

async fn read_exactly(port: &mut SerialPort, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    tokio::time::timeout(Duration::from_secs(5), port.read_exact(&mut bytes))
        .await
        .expect("bytes in time")
        .expect("read");
    bytes
}

async fn recv_in_time(dongle: &mut SerialDongle) -> Received {
    tokio::time::timeout(Duration::from_secs(5), dongle.recv())
        .await
        .expect("something in time")
        .expect("recv")
}

#[tokio::test]
async fn frames_sent_go_out_sir_wrapped() {
    let (mut dongle, mut master) = plain_on_pty().await;
    assert_eq!(dongle.speed(), 9600);
    let frame = vec![0xff, 0x3f, 0x01, 0x7d, 0xc0, 0x11];
    let tx = Transmit {
        frame: frame.clone(),
        speed: 9600,
        extra_bofs: 3,
    };
    dongle.send(&tx).await.unwrap();
    let expected = sir(&frame, 3);
    assert_eq!(read_exactly(&mut master, expected.len()).await, expected);
}

#[tokio::test]
async fn sir_bytes_from_the_far_side_come_back_as_frames_and_damage_as_activity() {
    let (mut dongle, mut master) = plain_on_pty().await;
    let frame = vec![0xfe, 0xbf, 0x01, 0xc1, 0x42];
    master.write_all(&sir(&frame, 0)).await.unwrap();
    assert_eq!(
        recv_in_time(&mut dongle).await,
        Received::Frame(frame.clone())
    );

    let mut damaged = sir(&frame, 0);
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x01; // a bit error: the FCS no longer matches
    master.write_all(&damaged).await.unwrap();
    assert_eq!(recv_in_time(&mut dongle).await, Received::Activity);

    master.write_all(&sir(&[0xb4, 0x73], 0)).await.unwrap();
    assert_eq!(
        recv_in_time(&mut dongle).await,
        Received::Frame(vec![0xb4, 0x73])
    );
}

#[tokio::test]
async fn a_cancelled_recv_loses_nothing() {
    let (mut dongle, mut master) = plain_on_pty().await;
    let frame = vec![0xb5, 0x10, 0x00, 0x10, 0x84, 0x01, 0x02, 0x03];
    let wire = sir(&frame, 0);
    let (first, rest) = wire.split_at(4);
    master.write_all(first).await.unwrap();
    // The first half arrives inside a select! that another branch wins.
    let mut seen = Vec::new();
    for _ in 0..3 {
        tokio::select! {
            received = dongle.recv() => seen.push(received.unwrap()),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    assert!(seen.iter().all(|r| *r == Received::Activity), "{seen:?}");
    master.write_all(rest).await.unwrap();
    let mut received = recv_in_time(&mut dongle).await;
    while received == Received::Activity {
        received = recv_in_time(&mut dongle).await;
    }
    assert_eq!(received, Received::Frame(frame));
}

#[tokio::test]
async fn a_plain_dongle_refuses_speeds_it_cannot_run() {
    let (mut dongle, _master) = plain_on_pty().await;
    let error = dongle.set_speed(115_200).await.unwrap_err();
    assert!(matches!(
        error,
        DongleError::UnsupportedSpeed {
            dongle: DongleKind::Plain,
            speed: 115_200
        }
    ));
    let tx = Transmit {
        frame: vec![0xff, 0x93],
        speed: 57600,
        extra_bofs: 0,
    };
    assert!(dongle.send(&tx).await.is_err());
    assert_eq!(dongle.speed(), 9600, "still at the speed it had");
}

#[tokio::test]
async fn a_line_controlled_dongle_on_a_pty_says_it_needs_modem_lines() {
    let (_master, path) = open_pty().expect("openpty");
    let error = SerialDongle::open(&path, DongleKind::Tekram210B)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            DongleError::ModemLines {
                dongle: DongleKind::Tekram210B,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("Tekram IR-210B"), "{message}");
    assert!(message.contains("--dongle plain"), "{message}");
}

#[tokio::test]
async fn a_command_without_its_echo_names_the_dongle_and_the_speed() {
    let (mut dongle, mut master) = plain_on_pty().await;
    dongle.kind = DongleKind::Ma600; // the echo logic is the same whatever drives the lines
    let command = [
        Step::Write(vec![0x04]),
        Step::ExpectEcho {
            bytes: vec![0x04],
            timeout: Duration::from_millis(100),
        },
    ];
    let error = dongle.run(&command, 115_200).await.unwrap_err();
    assert_eq!(read_exactly(&mut master, 1).await, [0x04]);
    let message = error.to_string();
    assert!(message.contains("MosChip MA600"), "{message}");
    assert!(message.contains("115200"), "{message}");
    assert!(message.contains("got nothing"), "{message}");

    // A far side that echoes: the same steps pass.
    let echo = async {
        let byte = read_exactly(&mut master, 1).await;
        master.write_all(&byte).await.unwrap();
    };
    let (ran, ()) = tokio::join!(dongle.run(&command, 115_200), echo);
    ran.unwrap();
}
