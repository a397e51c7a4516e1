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
