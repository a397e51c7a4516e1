//! Siemens BFB framing: packets through frames and chunks and back in any chunking, byte
//! flips caught (never a wrong packet, never a panic), garbage skipped with bounded buffers,
//! and the stream adapter carrying OBEX both ways.

use handsync::cable::bfb::{
    self, encode_chunk, encode_frames, frame_type, BfbCodec, BfbError, ChunkDecoder, FrameDecoder,
};
use handsync::transport::serial::BfbStream;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn packet(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n * 7 + 3) as u8).collect()
}

/// Decodes everything in `wire`, in pieces of `step` bytes, going on after errors.
fn decode_all(codec: &mut BfbCodec, wire: &[u8], step: usize) -> (Vec<u8>, Vec<BfbError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for piece in wire.chunks(step.max(1)) {
        let mut input = piece;
        loop {
            match codec.decode(input) {
                Ok(bytes) => {
                    out.extend(bytes);
                    break;
                }
                Err(error) => {
                    errors.push(error);
                    input = &[];
                }
            }
        }
    }
    (out, errors)
}

#[test]
fn frames_are_type_length_check_and_at_most_32_bytes() {
    let wire = encode_frames(frame_type::AT, b"AT^SBFB=0\r");
    assert_eq!(&wire[..3], &[0x06, 10, 0x06 ^ 10]);
    assert_eq!(&wire[3..], b"AT^SBFB=0\r");
    let long = encode_frames(frame_type::DATA, &[0u8; 70]);
    assert_eq!(long.len(), 70 + 3 * 3);
    assert_eq!(&long[35..38], &[0x16, 32, 0x16 ^ 32]);
    assert_eq!(&long[70..73], &[0x16, 6, 0x16 ^ 6]);
    let hello = encode_frames(frame_type::CONNECT, &[bfb::CONNECT_HELLO]);
    assert_eq!(hello, [0x02, 0x01, 0x03, 0x14]);
}

#[test]
fn a_chunk_carries_its_sequence_length_and_check() {
    let chunk = encode_chunk(bfb::DATA_FIRST, 5, b"abc");
    assert_eq!(&chunk[..5], &[0x02, 0xFD, 5, 0x00, 0x03]);
    assert_eq!(&chunk[5..8], b"abc");
    let fcs = bfb::irda_fcs(&chunk[2..8]);
    assert_eq!(&chunk[8..], &fcs.to_le_bytes());
    let mut decoder = ChunkDecoder::new(1024);
    decoder.push(&chunk);
    assert_eq!(decoder.next_chunk(), Some(Ok(b"abc".to_vec())));
}

#[test]
fn packets_arrive_whole_in_any_chunking() {
    let packets = [packet(3), packet(31), packet(32), packet(33), packet(600)];
    for step in [1, 2, 3, 5, 34, 35, 4096] {
        let mut sender = BfbCodec::new(4096);
        let mut receiver = BfbCodec::new(4096);
        let mut wire = Vec::new();
        for p in &packets {
            wire.extend(sender.encode_packet(p));
        }
        let (out, errors) = decode_all(&mut receiver, &wire, step);
        assert!(errors.is_empty(), "step {step}: {errors:?}");
        assert_eq!(out, packets.concat(), "step {step}");
    }
}

#[test]
fn acknowledgements_and_other_frames_are_set_aside() {
    let mut receiver = BfbCodec::new(4096);
    let mut wire = encode_frames(frame_type::DATA, &[bfb::DATA_ACK, !bfb::DATA_ACK]);
    wire.extend(encode_frames(frame_type::AT, b"\r\nOK\r\n"));
    wire.extend(BfbCodec::new(4096).encode_packet(b"obex"));
    let (out, errors) = decode_all(&mut receiver, &wire, 7);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out, b"obex");
    assert_eq!(receiver.other_frames.len(), 1);
    assert_eq!(receiver.other_frames[0].payload, b"\r\nOK\r\n");
}

#[test]
fn every_flipped_byte_is_caught_and_never_gives_a_wrong_packet() {
    let original = packet(100);
    let wire = BfbCodec::new(4096).encode_packet(&original);
    for index in 0..wire.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut damaged = wire.clone();
            damaged[index] ^= flip;
            let mut receiver = BfbCodec::new(4096);
            let (out, errors) = decode_all(&mut receiver, &damaged, 9);
            assert_ne!(out, original, "byte {index} ^ {flip:#x} went unnoticed");
            // Either an error names the damage, or the damaged chunk is still incomplete.
            assert!(
                !errors.is_empty() || out.is_empty(),
                "byte {index} ^ {flip:#x}: {} bytes out",
                out.len()
            );
        }
    }
}

#[test]
fn an_at_answer_before_the_frames_is_skipped() {
    let mut wire = b"\r\nOK\r\n".to_vec();
    wire.extend(BfbCodec::new(4096).encode_packet(b"after"));
    let mut receiver = BfbCodec::new(4096);
    let (out, errors) = decode_all(&mut receiver, &wire, 4);
    assert_eq!(out, b"after");
    assert!(
        matches!(errors[0], BfbError::BadFrameHeader { .. }),
        "{errors:?}"
    );
    assert!(errors[0].to_string().contains("check byte"));
}

#[test]
fn garbage_never_grows_the_buffers() {
    let mut frames = FrameDecoder::new();
    frames.push(&vec![0xFFu8; 100_000]);
    let mut errors = 0;
    while let Some(frame) = frames.next_frame() {
        assert!(frame.is_err());
        errors += 1;
    }
    assert!(frames.buffered() < 3 + 32, "{}", frames.buffered());
    assert!(errors > 99_000);
    // A header announcing more than 32 bytes is refused at once.
    let mut frames = FrameDecoder::new();
    frames.push(&[0x16, 0x40, 0x16 ^ 0x40]);
    assert_eq!(
        frames.next_frame(),
        Some(Err(BfbError::FrameTooLong {
            kind: 0x16,
            len: 0x40
        }))
    );
    // A chunk announcing more than we take is refused before it is buffered.
    let mut chunks = ChunkDecoder::new(1000);
    chunks.push(&[bfb::DATA_FIRST, !bfb::DATA_FIRST, 0, 0xFF, 0xFF]);
    assert_eq!(
        chunks.next_chunk(),
        Some(Err(BfbError::ChunkTooLong {
            len: 0xFFFF,
            max: 1000
        }))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_input_decodes_to_errors_or_data_without_panicking(
        prefix in prop::collection::vec(any::<u8>(), 0..300),
        step in 1usize..64,
    ) {
        let mut receiver = BfbCodec::new(4096);
        let _ = decode_all(&mut receiver, &prefix, step);
        // The link recovers: garbage may swallow a chunk or two (a false header announcing
        // up to 4096 bytes), never more than that, and never yields a damaged packet.
        let mut sender = BfbCodec::new(4096);
        let good = packet(300);
        let mut delivered = Vec::new();
        for _ in 0..20 {
            let wire = sender.encode_packet(&good);
            let (out, _) = decode_all(&mut receiver, &wire, step);
            delivered.push(out);
        }
        prop_assert_eq!(delivered.last().unwrap(), &good);
        for out in &delivered {
            prop_assert!(out.len() % 300 == 0 && out.chunks(300).all(|c| c == good.as_slice()));
        }
    }

    #[test]
    fn any_packet_round_trips(data in prop::collection::vec(any::<u8>(), 0..3000), step in 1usize..100) {
        let wire = BfbCodec::new(4096).encode_packet(&data);
        let mut receiver = BfbCodec::new(4096);
        let (out, errors) = decode_all(&mut receiver, &wire, step);
        prop_assert!(errors.is_empty());
        prop_assert_eq!(out, data);
    }
}

#[tokio::test]
async fn the_stream_adapter_carries_packets_both_ways() {
    let (near, far) = tokio::io::duplex(64);
    let mut near = BfbStream::new(near);
    let mut far = BfbStream::new(far);
    let request = packet(300);
    let writer = tokio::spawn(async move {
        near.write_all(&request).await.unwrap();
        near.flush().await.unwrap();
        let mut answer = [0u8; 3];
        near.read_exact(&mut answer).await.unwrap();
        answer
    });
    let mut received = vec![0u8; 300];
    far.read_exact(&mut received).await.unwrap();
    assert_eq!(received, packet(300));
    far.write_all(&[0xA0, 0x00, 0x03]).await.unwrap();
    far.flush().await.unwrap();
    assert_eq!(writer.await.unwrap(), [0xA0, 0x00, 0x03]);
}

#[tokio::test]
async fn a_damaged_frame_on_the_stream_is_an_invalid_data_error() {
    let (mut near, far) = tokio::io::duplex(1024);
    let mut far = BfbStream::new(far);
    let mut wire = BfbCodec::new(4096).encode_packet(b"hello");
    let last = wire.len() - 1;
    wire[last] ^= 0x55;
    near.write_all(&wire).await.unwrap();
    let mut buffer = [0u8; 16];
    let error = far.read(&mut buffer).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("check sequence"), "{error}");
}
