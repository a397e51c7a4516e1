//! HTTP content codings of the SyncML HTTP binding: compressed request bodies (Funambol-style
//! clients gzip their WBXML) and compressed answers for clients that accept them.
//!
//! A request body is inflated through a streaming decoder that stops one byte past the
//! binding's body limit, so a small body that would inflate to gigabytes costs no more memory
//! than a plain body at the limit.

use std::io::{Read, Write};

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use hyper::header::{self, HeaderMap, HeaderValue};

/// A compressing content coding; identity is its absence (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    Gzip,
    /// HTTP's "deflate": a zlib stream (RFC 1950). Raw deflate (RFC 1951), which some clients
    /// send under this name, is accepted too.
    Deflate,
}

impl Coding {
    /// The token in Content-Encoding.
    pub(super) fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }

    fn from_token(token: &str) -> Option<Coding> {
        match token {
            // RFC 9110 8.4.1.3: x-gzip is to be read as gzip.
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            _ => None,
        }
    }
}

/// Why a request body could not be inflated.
#[derive(Debug)]
pub(super) enum InflateError {
    /// It inflates to more than the limit (how much more is never found out).
    TooLarge,
    /// It is not a valid stream of its coding.
    Corrupt(std::io::Error),
}

/// The coding of a request body from its Content-Encoding headers: `Ok(None)` for none or
/// identity, what is wrong for codings we cannot undo (the answer is 415).
pub(super) fn request_coding(headers: &HeaderMap) -> Result<Option<Coding>, String> {
    let mut applied = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value
            .to_str()
            .map_err(|_| "Content-Encoding is not ASCII text\n".to_string())?;
        applied.extend(
            value
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .filter(|token| !token.is_empty() && token != "identity"),
        );
    }
    match applied.as_slice() {
        [] => Ok(None),
        [token] => Coding::from_token(token).map(Some).ok_or_else(|| {
            format!(
                "Content-Encoding `{token}` is not supported: send the body as gzip, deflate \
                 or identity\n"
            )
        }),
        _ => Err(format!(
            "Content-Encoding `{}` applies several codings: send one (gzip, deflate or \
             identity)\n",
            applied.join(", ")
        )),
    }
}

/// The coding of our answer from the request's Accept-Encoding: gzip or deflate, whichever the
/// client weighs higher (gzip on a tie); `None` when it sent no Accept-Encoding or accepts
/// neither (q=0, or not listed and no `*`).
pub(super) fn answer_coding(accept_encoding: Option<&HeaderValue>) -> Option<Coding> {
    let accepted = accept_encoding?.to_str().ok()?;
    let gzip = weight(accepted, Coding::Gzip);
    let deflate = weight(accepted, Coding::Deflate);
    if gzip > 0.0 && gzip >= deflate {
        Some(Coding::Gzip)
    } else if deflate > 0.0 {
        Some(Coding::Deflate)
    } else {
        None
    }
}

/// The q-value Accept-Encoding gives `coding`: its own entry, else `*`'s, else 0. An entry
/// whose q cannot be read counts as 0, so we never compress on a guess.
fn weight(accepted: &str, coding: Coding) -> f32 {
    let mut wildcard = None;
    for element in accepted.split(',') {
        let mut parts = element.split(';');
        let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|parameter| parameter.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, value)| {
                value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))
            })
            .unwrap_or(0.0);
        if Coding::from_token(&token) == Some(coding) {
            return q;
        }
        if token == "*" {
            wildcard = Some(q);
        }
    }
    wildcard.unwrap_or(0.0)
}

/// `body` decoded from `coding`, refused as soon as it passes `limit` bytes.
pub(super) fn inflate(coding: Coding, body: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    match coding {
        // Several members in a row are one gzip body (RFC 1952 2.2).
        Coding::Gzip => read_capped(MultiGzDecoder::new(body), limit),
        Coding::Deflate if has_zlib_header(body) => read_capped(ZlibDecoder::new(body), limit),
        Coding::Deflate => read_capped(DeflateDecoder::new(body), limit),
    }
}

/// Whether `body` starts with a zlib header (RFC 1950 2.2: method 8, window at most 32 KiB,
/// header check a multiple of 31, no preset dictionary); if not, it is taken as raw deflate.
fn has_zlib_header(body: &[u8]) -> bool {
    let [method, flags, ..] = *body else {
        return false;
    };
    method & 0x0f == 8
        && method >> 4 <= 7
        && (u16::from(method) << 8 | u16::from(flags)) % 31 == 0
        && flags & 0x20 == 0
}

fn read_capped(decoder: impl Read, limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut plain = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(InflateError::Corrupt)?;
    if plain.len() > limit {
        return Err(InflateError::TooLarge);
    }
    Ok(plain)
}

/// `bytes` encoded with `coding`.
pub(super) fn compress(coding: Coding, bytes: &[u8]) -> Vec<u8> {
    const WRITES_TO_A_VEC: &str = "compressing into a Vec cannot fail";
    let level = flate2::Compression::default();
    match coding {
        Coding::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), level);
            encoder.write_all(bytes).expect(WRITES_TO_A_VEC);
            encoder.finish().expect(WRITES_TO_A_VEC)
        }
        Coding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), level);
            encoder.write_all(bytes).expect(WRITES_TO_A_VEC);
            encoder.finish().expect(WRITES_TO_A_VEC)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::DeflateEncoder;

    const MESSAGE: &[u8] = b"<SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr></SyncML>";

    fn raw_deflate(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn headers(content_encoding: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in content_encoding {
            map.append(header::CONTENT_ENCODING, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn round_trips_in_both_codings_and_raw_deflate() {
        for coding in [Coding::Gzip, Coding::Deflate] {
            let packed = compress(coding, MESSAGE);
            assert_ne!(packed, MESSAGE);
            assert_eq!(inflate(coding, &packed, MESSAGE.len()).unwrap(), MESSAGE);
        }
        let raw = raw_deflate(MESSAGE);
        assert!(!has_zlib_header(&raw));
        assert_eq!(inflate(Coding::Deflate, &raw, 1000).unwrap(), MESSAGE);
    }

    #[test]
    fn concatenated_gzip_members_are_one_body() {
        let mut packed = compress(Coding::Gzip, b"<SyncML>");
        packed.extend(compress(Coding::Gzip, b"</SyncML>"));
        assert_eq!(
            inflate(Coding::Gzip, &packed, 100).unwrap(),
            b"<SyncML></SyncML>"
        );
    }

    #[test]
    fn a_bomb_is_refused_after_reading_one_byte_past_the_limit() {
        let zeros = vec![0u8; 4 << 20];
        for coding in [Coding::Gzip, Coding::Deflate] {
            let bomb = compress(coding, &zeros);
            assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
            assert!(matches!(
                inflate(coding, &bomb, 64 * 1024),
                Err(InflateError::TooLarge)
            ));
            // Exactly at the limit is still accepted.
            assert_eq!(
                inflate(coding, &bomb, zeros.len()).unwrap().len(),
                zeros.len()
            );
        }
        assert!(matches!(
            inflate(Coding::Deflate, &raw_deflate(&zeros), 1000),
            Err(InflateError::TooLarge)
        ));
    }

    #[test]
    fn corrupt_or_truncated_streams_are_errors() {
        let garbage = b"this is not compressed at all, whatever the header says".as_slice();
        assert!(matches!(
            inflate(Coding::Gzip, garbage, 1000),
            Err(InflateError::Corrupt(_))
        ));
        assert!(matches!(
            inflate(Coding::Deflate, garbage, 1000),
            Err(InflateError::Corrupt(_))
        ));
        for coding in [Coding::Gzip, Coding::Deflate] {
            let mut packed = compress(coding, MESSAGE);
            packed.truncate(packed.len() - 6);
            assert!(
                matches!(
                    inflate(coding, &packed, 1000),
                    Err(InflateError::Corrupt(_))
                ),
                "{coding:?}"
            );
            let mut flipped = compress(coding, MESSAGE);
            let last = flipped.len() - 1;
            flipped[last] ^= 0xff; // the checksum no longer matches
            assert!(
                matches!(
                    inflate(coding, &flipped, 1000),
                    Err(InflateError::Corrupt(_))
                ),
                "{coding:?}"
            );
        }
    }

    #[test]
    fn content_encoding_names_one_coding_or_none() {
        assert_eq!(request_coding(&headers(&[])).unwrap(), None);
        assert_eq!(request_coding(&headers(&["identity"])).unwrap(), None);
        assert_eq!(
            request_coding(&headers(&["GZIP"])).unwrap(),
            Some(Coding::Gzip)
        );
        assert_eq!(
            request_coding(&headers(&["x-gzip"])).unwrap(),
            Some(Coding::Gzip)
        );
        assert_eq!(
            request_coding(&headers(&[" deflate ", "identity"])).unwrap(),
            Some(Coding::Deflate)
        );
        assert!(request_coding(&headers(&["br"]))
            .unwrap_err()
            .contains("`br` is not supported"));
        assert!(request_coding(&headers(&["gzip", "deflate"]))
            .unwrap_err()
            .contains("`gzip, deflate`"));
    }

    #[test]
    fn accept_encoding_prefers_gzip_and_honours_q() {
        let answer = |v: &'static str| answer_coding(Some(&HeaderValue::from_static(v)));
        assert_eq!(answer_coding(None), None);
        assert_eq!(answer(""), None);
        assert_eq!(answer("identity"), None);
        assert_eq!(answer("br"), None);
        assert_eq!(answer("gzip"), Some(Coding::Gzip));
        assert_eq!(answer("deflate, gzip"), Some(Coding::Gzip));
        assert_eq!(answer("x-gzip"), Some(Coding::Gzip));
        assert_eq!(answer("deflate"), Some(Coding::Deflate));
        assert_eq!(answer("gzip;q=0, deflate"), Some(Coding::Deflate));
        assert_eq!(answer("gzip; Q=0.0, deflate;q=0"), None);
        assert_eq!(answer("gzip;q=0.2, deflate;q=0.8"), Some(Coding::Deflate));
        assert_eq!(answer("*"), Some(Coding::Gzip));
        assert_eq!(answer("*;q=0"), None);
        assert_eq!(answer("gzip;q=0, *"), Some(Coding::Deflate));
        assert_eq!(answer("gzip;q=banana"), None);
        assert_eq!(answer("gzip;q=2"), None);
    }
}
