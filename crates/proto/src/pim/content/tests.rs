use super::*;
use crate::pim::error::ParseErrorKind;

fn parse(text: &str) -> Component {
    parse_object(text.as_bytes()).unwrap().component
}

#[test]
fn qp_soft_break_splitting_a_utf8_character() {
    // Soft break between the two bytes of "н" (D0 BD), as a SE phone sends.
    let card = parse(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=\r\n=BD;=D0=90\r\nEND:VCARD\r\n",
    );
    assert_eq!(card.property("N").unwrap().components(), vec!["Ин", "А"]);
}

#[test]
fn qp_line_broken_without_soft_break() {
    let card = parse(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:\r\n;=D0=A2=D0=B0\r\nTEL:1\r\nEND:VCARD\r\n",
    );
    assert_eq!(card.property("N").unwrap().components(), vec!["", "Та"]);
}

#[test]
fn qp_soft_break_between_the_bytes_of_a_character() {
    let card = parse(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C3=\r\n=A9 =C3=A9=\r\nt=C3=A9\r\nEND:VCARD\r\n",
    );
    assert_eq!(card.text_of("NOTE").unwrap(), "Café été");
}

#[test]
fn qp_soft_break_inside_an_escape() {
    // `=C3` cut after `=C`, and after `=`.
    let card = parse(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C=\r\n3=A9 caf==\r\nC3=A9\r\nEND:VCARD\r\n",
    );
    assert_eq!(card.text_of("NOTE").unwrap(), "Café café");
}

#[test]
fn folding_groups_types_and_quotes() {
    let card = parse(
        "BEGIN:VCARD\nVERSION:3.0\nitem1.TEL;TYPE=work,voice;TYPE=pref:+1 555\n 0100\nX-A;X-P=\"a:b;c\":v\nEND:VCARD\n",
    );
    let tel = card.property("TEL").unwrap();
    assert_eq!(tel.group.as_deref(), Some("item1"));
    assert_eq!(tel.types(), ["WORK", "VOICE", "PREF"]);
    assert_eq!(tel.text_value(), "+1 5550100");
    assert_eq!(
        card.property("X-A").unwrap().param_value("X-P"),
        Some("a:b;c")
    );
}

#[test]
fn bare_legacy_params_become_type_and_encoding() {
    let card = parse(
        "BEGIN:VCARD\nVERSION:2.1\nTEL;CELL;HOME:1\nNOTE;QUOTED-PRINTABLE:a=3Db\nEND:VCARD\n",
    );
    assert_eq!(card.property("TEL").unwrap().types(), ["CELL", "HOME"]);
    assert_eq!(card.text_of("NOTE").unwrap(), "a=b");
}

#[test]
fn charset_parameter_decodes_windows_1251_and_latin1() {
    let mut input = b"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=WINDOWS-1251:".to_vec();
    input
        .extend_from_slice(b"\xcf\xe5\xf2\xf0\xee\xe2\nFN;CHARSET=ISO-8859-1:Ren\xe9\nEND:VCARD\n");
    let card = parse_object(&input).unwrap().component;
    assert_eq!(card.text_of("N").unwrap(), "Петров");
    assert_eq!(card.text_of("FN").unwrap(), "René");
}

#[test]
fn unknown_charset_is_an_error_with_line() {
    let error =
        parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=X-NOPE:a\nEND:VCARD\n").unwrap_err();
    assert_eq!(error.line, 3);
    assert_eq!(error.kind, ParseErrorKind::UnknownCharset("X-NOPE".into()));
}

#[test]
fn structural_errors_name_the_line() {
    let missing = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nEND:VCALENDAR\n").unwrap_err();
    assert_eq!(missing.line, 3);
    let open = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN:a\n").unwrap_err();
    assert_eq!(
        open.kind,
        ParseErrorKind::UnterminatedComponent("VCARD".into())
    );
    let colon = parse_object(b"BEGIN:VCARD\nVERSION:2.1\nN\n\nEND:VCARD\n").unwrap_err();
    assert_eq!((colon.line, colon.kind), (3, ParseErrorKind::MissingColon));
    let base64 =
        parse_object(b"BEGIN:VCARD\nVERSION:3.0\nPHOTO;ENCODING=b:%%%\nEND:VCARD\n").unwrap_err();
    assert_eq!(
        (base64.line, base64.kind),
        (3, ParseErrorKind::InvalidBase64)
    );
    assert_eq!(
        parse_object(b"").unwrap_err().kind,
        ParseErrorKind::NoObject
    );
}

#[test]
fn many_lines_without_colon_parse_in_linear_time() {
    let mut input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;X=".to_vec();
    for _ in 0..50_000 {
        input.extend_from_slice(b"abcdefgh=\r\n");
    }
    input.extend_from_slice(b":v\r\nEND:VCARD\r\n");
    let started = std::time::Instant::now();
    let card = parse_object(&input).unwrap().component;
    assert!(started.elapsed().as_secs() < 5);
    assert_eq!(card.text_of("NOTE").unwrap(), "v");
}

#[test]
fn byte_order_marks_and_utf16_files() {
    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend_from_slice("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n".as_bytes());
    assert_eq!(
        parse_object(&utf8)
            .unwrap()
            .component
            .text_of("FN")
            .unwrap(),
        "Zoë"
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Zoë;A\r\nEND:VCARD\r\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let card = parse_object(&utf16).unwrap().component;
    assert_eq!(card.property("N").unwrap().components(), ["Zoë", "A"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let input = "BEGIN:X\r\n".repeat(100_000);
    let error = parse_objects(input.as_bytes()).unwrap_err();
    assert_eq!(
        (error.line, error.kind),
        (17, ParseErrorKind::NestingTooDeep)
    );
}

#[test]
fn hostile_bytes_never_panic() {
    let samples: [&[u8]; 6] = [
        b"BEGIN:VCARD\n=\n",
        b"\xff\xfe\x00BEGIN",
        b"BEGIN:\nEND:\n",
        b"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:=\nEND:VCARD",
        b":\n;;;:\n",
        b"BEGIN:VCARD\nPHOTO;BASE64:====\nEND:VCARD\n",
    ];
    for sample in samples {
        let _ = parse_objects(sample);
    }
}

#[test]
fn escapes_are_canonical_in_both_dialects() {
    let legacy = parse("BEGIN:VCARD\nVERSION:2.1\nNOTE:a, b\\;c\\nd\\M\\\nEND:VCARD\n");
    assert_eq!(legacy.text_of("NOTE").unwrap(), "a, b;c\nd\\M\\");
    let modern = parse("BEGIN:VCARD\nVERSION:3.0\nNOTE:a\\, b\\;c\\nd\\:\nEND:VCARD\n");
    assert_eq!(modern.text_of("NOTE").unwrap(), "a, b;c\nd:");
}

#[test]
fn legacy_writer_uses_qp_and_charset_and_round_trips() {
    let card = parse("BEGIN:VCARD\nVERSION:3.0\nN:Müller;Jörg\\, Jr.;;;\nNOTE:line1\\nline2\nTEL;TYPE=CELL,HOME:+49\nEND:VCARD\n");
    let latin1 = WriteOptions {
        legacy_charset: codec::charset_by_label("ISO-8859-1").unwrap(),
        ..WriteOptions::legacy()
    };
    let mut legacy_card = card.clone();
    legacy_card.set(Property::raw("VERSION", "2.1"));
    let written = write_component(&legacy_card, &latin1);
    assert!(
        written.contains("N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=F6rg, Jr.;;;")
    );
    assert!(written.contains("NOTE;ENCODING=QUOTED-PRINTABLE:line1=0D=0Aline2"));
    assert!(written.contains("TEL;CELL;HOME:+49"));
    let again = parse(&written);
    assert_eq!(again.properties[1..], card.properties[1..]);
}

#[test]
fn quoted_printable_on_one_line_when_asked() {
    let mut card = Component::new("VCARD");
    card.properties.push(Property::raw("VERSION", "2.1"));
    card.properties
        .push(Property::text("NOTE", &"é".repeat(60)));
    let one_line = WriteOptions {
        soft_line_breaks: false,
        ..WriteOptions::legacy()
    };
    let written = write_component(&card, &one_line);
    assert_eq!(written.lines().count(), 4);
    assert_eq!(parse(&written), card);
    assert!(
        write_component(&card, &WriteOptions::legacy())
            .lines()
            .count()
            > 4
    );
}

#[test]
fn vcalendar_keeps_named_type_parameters() {
    let calendar = parse("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nAALARM;TYPE=X-EPOCSOUND:20061005T075000Z;;;x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let written = write_component(&calendar, &WriteOptions::legacy());
    assert!(
        written.contains("AALARM;TYPE=X-EPOCSOUND:20061005T075000Z;;;x"),
        "{written}"
    );
}

#[test]
fn modern_writer_folds_and_round_trips_binary() {
    let mut card = Component::new("VCARD");
    card.properties.push(Property::raw("VERSION", "3.0"));
    card.properties
        .push(Property::text("NOTE", &"ä".repeat(100)));
    card.properties.push(Property {
        group: None,
        name: "PHOTO".into(),
        params: vec![Param::new("TYPE", &["JPEG"])],
        value: Value::Binary((0..=255).collect()),
    });
    let written = write_component(&card, &WriteOptions::modern());
    assert!(written.lines().all(|l| l.len() <= 75));
    assert_eq!(parse(&written), card);
    let mut legacy_card = card.clone();
    legacy_card.set(Property::raw("VERSION", "2.1"));
    let legacy = write_component(&legacy_card, &WriteOptions::legacy());
    let mut again = parse(&legacy);
    again.set(Property::raw("VERSION", "3.0"));
    assert_eq!(again, card);
}

mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Hostile bytes from a phone never make the parser panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_objects(&bytes);
        }

        /// Arbitrary lines inside a vCard never make the parser panic.
        #[test]
        fn arbitrary_lines_in_a_card_never_panic(body in "[ -~\t=;:,\\\\\r\n]{0,300}") {
            let input = format!("BEGIN:VCARD\r\nVERSION:2.1\r\n{body}\r\nEND:VCARD\r\n");
            let _ = parse_objects(input.as_bytes());
        }

        /// Any printable text (`\PC`: no control characters) survives both
        /// writers.
        #[test]
        fn any_text_round_trips(text in "\\PC{0,120}", legacy in any::<bool>()) {
            let mut card = Component::new("VCARD");
            card.properties.push(Property::raw("VERSION", if legacy { "2.1" } else { "3.0" }));
            card.properties.push(Property::text("NOTE", &text));
            card.properties.push(Property::structured("N", &[&text, "x", &text]));
            let options = if legacy { WriteOptions::legacy() } else { WriteOptions::modern() };
            let written = write_component(&card, &options);
            let again = parse_object(written.as_bytes()).unwrap().component;
            prop_assert_eq!(again.text_of("NOTE").unwrap(), text.clone());
            prop_assert_eq!(again.property("N").unwrap().components()[0].clone(), text.clone());
        }
    }
}
