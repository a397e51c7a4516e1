//! Compressed HTTP as clients use it (Funambol-style clients gzip their WBXML): `handsync serve
//! --http` driven by Python's standard library (urllib, gzip, zlib), an HTTP client and
//! deflate implementation independent of hyper and flate2. Compressed first messages from the
//! corpus are answered, compressed when Accept-Encoding allows; a gzip bomb, garbage and an
//! unknown coding are refused with 413, 400 and 415.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const XML: &str = "application/vnd.syncml+xml";
const WBXML: &str = "application/vnd.syncml+wbxml";

/// Our body limit with the default MaxMsgSize (65,536 plus 16 KiB; `src/daemon`).
const MAX_BODY: usize = 65_536 + 16 * 1024;

/// `handsync serve` on a scratch database and a free port, stopped on drop.
struct Daemon {
    child: Child,
    url: String,
}

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(dir.join("handsync.db"))
            .args(["serve", "--http", "127.0.0.1:0"])
            .env("XDG_CONFIG_HOME", dir) // no user configuration file
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("handsync serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("serve prints its address")
                .expect("readable output");
            if let Some(rest) = line.strip_prefix("HTTP: listening on ") {
                break format!("{}sync", rest.trim());
            }
        };
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Daemon { child, url }
    }

    /// One POST by `tests/http_support/post_compressed.py` (see there for `packing`); `None`
    /// for a header not sent.
    fn post(
        &self,
        body_file: &Path,
        content_type: &str,
        packing: &str,
        content_encoding: Option<&str>,
        accept_encoding: Option<&str>,
    ) -> Answer {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http_support/post_compressed.py");
        let output = Command::new("python3")
            .arg(script)
            .arg(&self.url)
            .arg(body_file)
            .args([
                content_type,
                packing,
                content_encoding.unwrap_or("-"),
                accept_encoding.unwrap_or("-"),
            ])
            .output()
            .expect("python3 runs (it is a test dependency)");
        assert!(
            output.status.success(),
            "python3: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Answer::parse(&String::from_utf8(output.stdout).unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// What the Python client saw; `body` is decoded from the answer's Content-Encoding.
#[derive(Debug)]
struct Answer {
    fields: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn parse(output: &str) -> Answer {
        let mut fields: HashMap<String, String> = output
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let hex = fields.remove("body").expect("the script prints the body");
        let body = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        Answer { fields, body }
    }

    fn field(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {self:?}"))
    }

    fn number(&self, key: &str) -> f64 {
        self.field(key).parse().unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A SyncML answer: 200, the encoding asked for, the coding expected, Vary set and
    /// Content-Length that of the bytes on the wire.
    fn assert_syncml(&self, content_type: &str, coding: &str) {
        assert_eq!(self.field("status"), "200", "{}", self.text());
        assert_eq!(self.field("content-type"), content_type);
        assert_eq!(self.field("content-encoding"), coding);
        assert!(
            self.field("vary").eq_ignore_ascii_case("accept-encoding"),
            "{self:?}"
        );
        assert_eq!(self.field("content-length"), self.field("received"));
        if content_type == XML {
            let text = self.text();
            assert!(
                text.contains("<SyncML") && text.trim_end().ends_with("</SyncML>"),
                "{text}"
            );
        } else {
            // WBXML 1.2, the SyncML public identifier given as a string table reference.
            assert_eq!(self.body.first(), Some(&0x02), "{:02x?}", self.body);
        }
    }

    fn assert_refused(&self, status: &str, says: &str) {
        assert_eq!(self.field("status"), status, "{self:?}");
        assert!(self.text().contains(says), "{}", self.text());
    }
}

fn corpus_message(name: &str) -> PathBuf {
    support::corpus_dir().join("wbxml").join(name)
}

#[test]
fn compressed_first_messages_are_answered_compressed_when_the_client_accepts_it() {
    let dir = support::scratch_dir("http-compression");
    let daemon = Daemon::start(&dir);
    let xml = corpus_message("horde-syncml_client_packet_1.xml");
    let wbxml = corpus_message("horde-k500i_client_0.wbxml");

    let gzip = daemon.post(&xml, XML, "gzip", Some("gzip"), Some("gzip"));
    gzip.assert_syncml(XML, "gzip");
    // Compressed on the wire: the decoded answer is larger than what was received.
    assert!(gzip.body.len() as f64 > gzip.number("received"));

    // HTTP's deflate is zlib; raw deflate, which some clients send, is accepted too.
    daemon
        .post(&xml, XML, "zlib", Some("deflate"), Some("gzip"))
        .assert_syncml(XML, "gzip");
    daemon
        .post(&xml, XML, "raw-deflate", Some("deflate"), Some("deflate"))
        .assert_syncml(XML, "deflate");
    daemon
        .post(
            &xml,
            XML,
            "gzip",
            Some("x-gzip"),
            Some("deflate;q=0.5, gzip"),
        )
        .assert_syncml(XML, "gzip");
    daemon
        .post(&wbxml, WBXML, "gzip", Some("gzip"), Some("gzip, deflate"))
        .assert_syncml(WBXML, "gzip");

    // No compression unless asked for: urllib's default (identity), or q=0.
    let plain = daemon.post(&xml, XML, "plain", None, None);
    plain.assert_syncml(XML, "");
    assert_eq!(plain.body.len() as f64, plain.number("received"));
    daemon
        .post(&xml, XML, "gzip", Some("gzip"), Some("gzip;q=0, identity"))
        .assert_syncml(XML, "");
    daemon
        .post(&wbxml, WBXML, "plain", Some("identity"), Some("br"))
        .assert_syncml(WBXML, "");
}

#[test]
fn a_gzip_bomb_garbage_and_unknown_codings_are_refused() {
    let dir = support::scratch_dir("http-compression-refused");
    let daemon = Daemon::start(&dir);
    let xml = corpus_message("horde-syncml_client_packet_1.xml");

    // 50 MB of zeros in about 50 KB: within the body limit as sent, far beyond it inflated.
    let bomb = daemon.post(&xml, XML, "bomb", Some("gzip"), Some("gzip"));
    assert!((bomb.number("sent") as usize) < MAX_BODY, "{bomb:?}");
    bomb.assert_refused("413", &format!("more than {MAX_BODY} bytes"));
    assert!(
        bomb.number("seconds") < 5.0,
        "refused without inflating it all: {bomb:?}"
    );

    daemon
        .post(&xml, XML, "garbage", Some("gzip"), None)
        .assert_refused("400", "could not be decompressed");
    daemon
        .post(&xml, XML, "garbage", Some("deflate"), None)
        .assert_refused("400", "could not be decompressed");
    daemon
        .post(&xml, XML, "plain", Some("br"), Some("gzip"))
        .assert_refused("415", "`br` is not supported");
    daemon
        .post(&xml, XML, "gzip", Some("gzip, gzip"), None)
        .assert_refused("415", "several codings");

    // The daemon still serves after all that.
    daemon
        .post(&xml, XML, "gzip", Some("gzip"), Some("gzip"))
        .assert_syncml(XML, "gzip");
}
