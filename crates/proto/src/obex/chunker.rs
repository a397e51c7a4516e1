//! Splits an object (headers, then an optional body) into packets that fit the peer's
//! maximum packet length: used by the client for PUT and by the server for GET responses.

use std::collections::VecDeque;

use super::header::Header;

/// Bytes a Body or End-of-Body header takes before its data.
const BODY_PREFIX_LEN: usize = 3;

/// An object being sent in as many packets as the peer's maximum requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectChunker {
    headers: VecDeque<Header>,
    body: Option<Vec<u8>>,
    body_offset: usize,
    finished: bool,
}

/// Why an object cannot be cut into packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderTooLarge {
    pub id: u8,
    pub length: usize,
    pub space: usize,
}

impl ObjectChunker {
    /// `body` is `None` for an object without a body (a PUT that deletes, a bare response).
    pub fn new(headers: Vec<Header>, body: Option<Vec<u8>>) -> Self {
        ObjectChunker {
            headers: headers.into(),
            body,
            body_offset: 0,
            finished: false,
        }
    }

    /// Whether the last chunk has been taken.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The headers of the next packet, at most `space` bytes of them, and whether this is the
    /// last packet of the object.
    pub fn next_chunk(&mut self, space: usize) -> Result<(Vec<Header>, bool), HeaderTooLarge> {
        let mut chunk = Vec::new();
        let mut used = 0;
        while let Some(header) = self.headers.front() {
            let length = header.encoded_len();
            if used + length > space {
                if chunk.is_empty() {
                    return Err(HeaderTooLarge {
                        id: header.id(),
                        length,
                        space,
                    });
                }
                return Ok((chunk, false));
            }
            used += length;
            if let Some(header) = self.headers.pop_front() {
                chunk.push(header);
            }
        }
        let Some(body) = &self.body else {
            self.finished = true;
            return Ok((chunk, true));
        };
        let remaining = &body[self.body_offset..];
        if used + BODY_PREFIX_LEN + remaining.len() <= space {
            chunk.push(Header::EndOfBody(remaining.to_vec()));
            self.body_offset = body.len();
            self.finished = true;
            return Ok((chunk, true));
        }
        let room = space.saturating_sub(used + BODY_PREFIX_LEN);
        if room == 0 {
            if chunk.is_empty() {
                return Err(HeaderTooLarge {
                    id: super::header::id::BODY,
                    length: BODY_PREFIX_LEN + 1,
                    space,
                });
            }
            return Ok((chunk, false));
        }
        chunk.push(Header::Body(remaining[..room].to_vec()));
        self.body_offset += room;
        Ok((chunk, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_split_to_fit_and_ends_with_end_of_body() {
        let body: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut chunker =
            ObjectChunker::new(vec![Header::Type(b"x/y".to_vec())], Some(body.clone()));
        let mut rebuilt = Vec::new();
        let mut packets = 0;
        loop {
            let (headers, last) = chunker.next_chunk(252).expect("fits");
            packets += 1;
            assert!(headers.iter().map(Header::encoded_len).sum::<usize>() <= 252);
            for header in &headers {
                if let Some(bytes) = header.body_bytes() {
                    rebuilt.extend_from_slice(bytes);
                }
            }
            if last {
                assert!(matches!(headers.last(), Some(Header::EndOfBody(_))));
                break;
            }
        }
        assert_eq!(rebuilt, body);
        assert_eq!(packets, 5);
        assert!(chunker.is_finished());
    }

    #[test]
    fn empty_body_is_one_empty_end_of_body() {
        let mut chunker = ObjectChunker::new(Vec::new(), Some(Vec::new()));
        assert_eq!(
            chunker.next_chunk(252),
            Ok((vec![Header::EndOfBody(Vec::new())], true))
        );
    }

    #[test]
    fn no_body_sends_headers_only() {
        let mut chunker = ObjectChunker::new(vec![Header::Name(Some("a".into()))], None);
        let (headers, last) = chunker.next_chunk(252).expect("fits");
        assert!(last);
        assert_eq!(headers, vec![Header::Name(Some("a".into()))]);
    }

    #[test]
    fn a_header_larger_than_a_packet_is_an_error() {
        let mut chunker = ObjectChunker::new(vec![Header::Who(vec![0; 300])], None);
        assert_eq!(
            chunker.next_chunk(252),
            Err(HeaderTooLarge {
                id: 0x4A,
                length: 303,
                space: 252
            })
        );
    }
}
