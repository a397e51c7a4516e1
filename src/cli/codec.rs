//! `handsync decode` and `handsync encode`.

use super::Failure;
use crate::markup::{DocumentType, EventReader, Version};
use crate::syncml::{self, xml, Encoding};
use crate::wbxml;
use clap::{Args, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The message: a file, or - (the default) for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// Print the markup tree as it is, without reading it as SyncML: for messages the model
    /// rejects, or WBXML of another vocabulary with the same code pages.
    #[arg(long)]
    raw: bool,
    /// What the input is; by default it is recognised: a SyncML or DevInf message, a captured
    /// OBEX stream (packets back to back; SyncML bodies are decoded too) or a SAN 1.2.
    #[arg(long = "as", value_enum, value_name = "KIND", conflicts_with = "raw")]
    kind: Option<KindArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Syncml,
    Obex,
    San,
}

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// The XML message: a file, or - (the default) for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// SyncML version whose code pages and public id to use; by default the message's VerDTD.
    #[arg(long, value_enum)]
    syncml: Option<VersionArg>,
    /// Text encoding of the WBXML strings: utf-8, or iso-8859-1 as Sony Ericsson phones use.
    #[arg(long, value_enum, default_value = "utf-8")]
    charset: CharsetArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum VersionArg {
    #[value(name = "1.0")]
    V1_0,
    #[value(name = "1.1")]
    V1_1,
    #[value(name = "1.2")]
    V1_2,
}

impl From<VersionArg> for Version {
    fn from(v: VersionArg) -> Version {
        match v {
            VersionArg::V1_0 => Version::V1_0,
            VersionArg::V1_1 => Version::V1_1,
            VersionArg::V1_2 => Version::V1_2,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CharsetArg {
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "iso-8859-1")]
    Latin1,
}

fn read_input(path: &PathBuf) -> Result<(String, Vec<u8>), Failure> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io(format!("reading standard input: {e}")))?;
        Ok(("<stdin>".to_string(), bytes))
    } else {
        let name = path.display().to_string();
        bytes = std::fs::read(path).map_err(|e| Failure::io(format!("{name}: {e}")))?;
        Ok((name, bytes))
    }
}

fn write_output(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // `handsync decode x | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io(format!("writing standard output: {e}"))),
    }
}

pub fn decode(args: &DecodeArgs) -> Result<(), Failure> {
    let (name, bytes) = read_input(&args.input)?;
    let kind = match args.kind {
        Some(kind) => kind,
        None if args.raw => KindArg::Syncml,
        None => recognise(&bytes),
    };
    match kind {
        KindArg::Obex => return write_output(describe_obex(&bytes).as_bytes()),
        KindArg::San => {
            crate::syncml::san::San::decode(&bytes)
                .map_err(|e| Failure::bad_input(format!("{name}: not a SAN 1.2: {e}")))?;
            return write_output(crate::syncml::san::describe(&bytes).as_bytes());
        }
        KindArg::Syncml => {}
    }
    let text = if args.raw {
        decode_raw(&bytes).map_err(|e| Failure::bad_input(format!("{name}: {e}")))?
    } else {
        let (document, _) = syncml::decode_document(&bytes)
            .map_err(|e| Failure::bad_input(format!("{name}: {e}")))?;
        syncml::document_to_xml_sized(
            &document,
            xml::XmlOptions::pretty(),
            bytes.len() + bytes.len() / 4,
        )
        .map_err(|e| Failure::bad_input(format!("{name}: cannot be shown as XML: {e}")))?
    };
    write_output(text.as_bytes())
}

/// What a file holds, by its first bytes: SyncML (XML, or WBXML that decodes), else an OBEX
/// stream (a known opcode or response code and a packet length that fits), else a SAN 1.2;
/// SyncML when nothing fits, so that its decoder names the problem.
fn recognise(bytes: &[u8]) -> KindArg {
    use crate::obex::{Opcode, ResponseCode};
    if syncml::sniff_encoding(bytes) == Encoding::Xml || syncml::decode_document(bytes).is_ok() {
        return KindArg::Syncml;
    }
    if let [first, high, low, ..] = bytes {
        let declared = u16::from_be_bytes([*high, *low]) as usize;
        let known = if Opcode::is_request_byte(*first) {
            !matches!(Opcode::from_byte(*first), Opcode::Other(_))
        } else {
            !matches!(ResponseCode::from_byte(*first), ResponseCode::Other(_))
        };
        if known && (3..=bytes.len()).contains(&declared) {
            return KindArg::Obex;
        }
    }
    if crate::syncml::san::San::decode(bytes).is_ok() {
        return KindArg::San;
    }
    KindArg::Syncml
}

/// The packets, then each object they carried that is a SyncML message or a SAN, decoded.
fn describe_obex(bytes: &[u8]) -> String {
    use crate::obex::{Header, Opcode, Request, Response, ResponseTo};
    let mut out = crate::obex::describe(bytes);
    let mut offset = 0;
    let mut body: Vec<u8> = Vec::new();
    let mut objects: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut after_connect = false;
    while offset + 3 <= bytes.len() {
        let declared = u16::from_be_bytes([bytes[offset + 1], bytes[offset + 2]]) as usize;
        if declared < 3 || offset + declared > bytes.len() {
            break;
        }
        let packet = &bytes[offset..offset + declared];
        let headers = if Opcode::is_request_byte(packet[0]) {
            after_connect = packet[0] == 0x80;
            Request::decode(packet).map(|r| r.headers)
        } else {
            let answers = if after_connect {
                ResponseTo::Connect
            } else {
                ResponseTo::Other
            };
            after_connect = false;
            Response::decode(packet, answers).map(|r| r.headers)
        };
        let Ok(headers) = headers else { break };
        for header in headers {
            match header {
                Header::Body(chunk) => body.extend_from_slice(&chunk),
                Header::EndOfBody(chunk) => {
                    body.extend_from_slice(&chunk);
                    objects.push((offset, std::mem::take(&mut body)));
                }
                _ => {}
            }
        }
        offset += declared;
    }
    for (at, object) in objects {
        if object.is_empty() {
            continue;
        }
        let text = match syncml::decode_document(&object) {
            Ok((document, _)) => syncml::document_to_xml(&document, xml::XmlOptions::pretty())
                .unwrap_or_else(|e| format!("(cannot be shown as XML: {e})\n")),
            Err(_) => match crate::syncml::san::San::decode(&object) {
                Ok(_) => crate::syncml::san::describe(&object),
                Err(_) => continue,
            },
        };
        out.push_str(&format!(
            "\n--- object ending in the packet @{at}, {} bytes ---\n{text}",
            object.len()
        ));
    }
    out
}

fn decode_raw(bytes: &[u8]) -> Result<String, crate::markup::MarkupError> {
    let (tree, doc) = match syncml::sniff_encoding(bytes) {
        Encoding::Xml => {
            let text = xml::xml_text(bytes)?;
            let mut reader = xml::XmlReader::new(&text);
            let tree = crate::markup::Element::read_document(&mut reader)?;
            (tree, reader.document_type())
        }
        Encoding::Wbxml => {
            let doc = wbxml::Reader::new(bytes)?.document_type();
            (wbxml::decode_tree(bytes)?, doc)
        }
    };
    let version = doc.map(DocumentType::version).unwrap_or(Version::V1_2);
    xml::encode_tree(version, &tree, xml::XmlOptions::pretty())
}

pub fn encode(args: &EncodeArgs) -> Result<(), Failure> {
    let (name, bytes) = read_input(&args.input)?;
    if syncml::sniff_encoding(&bytes) != Encoding::Xml {
        return Err(Failure::bad_input(format!(
            "{name}: expected an XML message starting with '<' (this looks like WBXML already; \
             `handsync decode` reads it)"
        )));
    }
    let (document, _) =
        syncml::decode_document(&bytes).map_err(|e| Failure::bad_input(format!("{name}: {e}")))?;
    let declared = document.version();
    let version = args.syncml.map(Version::from).unwrap_or(declared);
    if version != declared {
        return Err(Failure::bad_input(format!(
            "{name}: the message says VerDTD {declared} but --syncml {version} was asked for; \
             the code pages must match the message"
        )));
    }
    let options = wbxml::WriterOptions {
        charset: match args.charset {
            CharsetArg::Utf8 => wbxml::Charset::Utf8,
            CharsetArg::Latin1 => wbxml::Charset::Latin1,
        },
        ..wbxml::WriterOptions::default()
    };
    let out = syncml::document_to_wbxml(&document, &options)
        .map_err(|e| Failure::bad_input(format!("{name}: cannot be encoded: {e}")))?;
    write_output(&out)
}
