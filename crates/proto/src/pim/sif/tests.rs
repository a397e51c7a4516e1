//! Tests of SIF reading and writing: each type read, stored, and written back field by
//! field; malformed documents refused with a precise message.

use super::*;

/// Reads SIF into the stored form, then writes the stored form back as SIF.
fn round_trip(datastore: Datastore, sif: &str) -> (StoredItem, SifDocument) {
    let item = from_sif(datastore, sif.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{sif}"));
    let (kind, written) = to_sif(datastore, &item.canonical).expect("stored form readable");
    let back = SifDocument::parse(written.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(back.kind, kind);
    (item, back)
}

/// Every field of `sent` comes back with the same value.
fn assert_fields_kept(sent: &str, back: &SifDocument, canonical: &str) {
    let sent = SifDocument::parse(sent.as_bytes()).unwrap();
    for (name, value) in &sent.fields {
        if name == "SIFVersion" || value.trim().is_empty() {
            continue;
        }
        let got: Vec<&str> = back.all(name).collect();
        assert!(
            got.contains(&value.as_str()),
            "{name}: sent {value:?}, got {got:?}\nstored:\n{canonical}"
        );
    }
}

const CONTACT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<contact>
  <SIFVersion>1.1</SIFVersion>
  <FileAs>Lovelace, Ada</FileAs>
  <FirstName>Ada</FirstName>
  <MiddleName>Augusta</MiddleName>
  <LastName>Lovelace</LastName>
  <Title>Lady</Title>
  <Suffix>FRS</Suffix>
  <NickName>Ada</NickName>
  <CompanyName>Analytical &amp; Co</CompanyName>
  <Department>Engines</Department>
  <JobTitle>Programmer</JobTitle>
  <Email1Address>ada@example.org</Email1Address>
  <Email2Address>ada@home.example</Email2Address>
  <Email3Address>ada@work.example</Email3Address>
  <HomeTelephoneNumber>+44 20 1111</HomeTelephoneNumber>
  <BusinessTelephoneNumber>+44 20 2222</BusinessTelephoneNumber>
  <MobileTelephoneNumber>+44 7700 3333</MobileTelephoneNumber>
  <HomeFaxNumber>+44 20 4444</HomeFaxNumber>
  <BusinessFaxNumber>+44 20 5555</BusinessFaxNumber>
  <PagerNumber>+44 20 6666</PagerNumber>
  <OtherTelephoneNumber>+44 20 7777</OtherTelephoneNumber>
  <HomeAddressStreet>12 St James's Square</HomeAddressStreet>
  <HomeAddressCity>London</HomeAddressCity>
  <HomeAddressState>Middlesex</HomeAddressState>
  <HomeAddressPostalCode>SW1Y 4JH</HomeAddressPostalCode>
  <HomeAddressCountry>UK</HomeAddressCountry>
  <BusinessAddressStreet>1 Engine Row</BusinessAddressStreet>
  <BusinessAddressCity>Cambridge</BusinessAddressCity>
  <BusinessAddressPostalCode>CB1</BusinessAddressPostalCode>
  <OtherAddressStreet>Ockham Park</OtherAddressStreet>
  <OtherAddressCity>Ockham</OtherAddressCity>
  <Birthday>1815-12-10</Birthday>
  <Anniversary>1835-07-08</Anniversary>
  <Body>Notes on the engine&#13;&#10;second line with &lt;tags&gt;</Body>
  <Categories>Business, VIP</Categories>
  <WebPage>http://example.org/ada</WebPage>
  <HomeWebPage>http://home.example/ada</HomeWebPage>
  <Spouse>William</Spouse>
  <Photo>/9j/4AAQSkZJRgABAQ==</Photo>
  <UnknownOutlookField>ignored</UnknownOutlookField>
</contact>"#;

#[test]
fn a_contact_keeps_every_mapped_field() {
    let (item, back) = round_trip(Datastore::Contacts, CONTACT);
    assert_eq!(item.datastore, Datastore::Contacts);
    assert_eq!(item.source_type, "text/x-s4j-sifc");
    let canonical = &item.canonical;
    for line in [
        "VERSION:3.0",
        "FN:Lovelace\\, Ada",
        "N:Lovelace;Ada;Augusta;Lady;FRS",
        "ORG:Analytical & Co;Engines",
        "TITLE:Programmer",
        "TEL;TYPE=CELL:+44 7700 3333",
        "BDAY:1815-12-10",
        "NOTE:Notes on the engine\\nsecond line with <tags>",
        "CATEGORIES:Business,VIP",
        "PHOTO;",
    ] {
        assert!(canonical.contains(line), "{line} missing from\n{canonical}");
    }
    assert!(!canonical.contains("ignored"), "{canonical}");
    let sent_without_unknown =
        CONTACT.replace("<UnknownOutlookField>ignored</UnknownOutlookField>", "");
    assert_fields_kept(&sent_without_unknown, &back, canonical);
    assert_eq!(back.get("UnknownOutlookField"), None);
}

#[test]
fn a_vcard_from_the_pc_goes_out_as_sif_c() {
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nTEL;TYPE=WORK:+1 555 0100\r\nTEL;TYPE=CELL:+1 555 0101\r\nEMAIL;TYPE=INTERNET:grace@example.org\r\nADR;TYPE=WORK:;Suite 3;1 Navy Way;Arlington;VA;22202;USA\r\nEND:VCARD\r\n";
    let (kind, sif) = to_sif(Datastore::Contacts, card).unwrap();
    assert_eq!(kind, SifKind::Contact);
    assert!(
        sif.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><contact><SIFVersion>1.1</SIFVersion>"
        ),
        "{sif}"
    );
    let document = SifDocument::parse(sif.as_bytes()).unwrap();
    assert_eq!(document.get("FileAs"), Some("Grace Hopper"));
    assert_eq!(document.get("LastName"), Some("Hopper"));
    assert_eq!(document.get("BusinessTelephoneNumber"), Some("+1 555 0100"));
    assert_eq!(document.get("MobileTelephoneNumber"), Some("+1 555 0101"));
    assert_eq!(document.get("Email1Address"), Some("grace@example.org"));
    assert_eq!(
        document.get("BusinessAddressStreet"),
        Some("1 Navy Way\nSuite 3")
    );
    assert_eq!(document.get("BusinessAddressCountry"), Some("USA"));
}

const EVENT: &str = "<appointment><SIFVersion>1.1</SIFVersion>\
<Subject>Board meeting</Subject><Body>Agenda:\n1. Engines</Body><Location>Room 4</Location>\
<Start>20070105T090000Z</Start><End>20070105T103000Z</End><AllDayEvent>0</AllDayEvent>\
<ReminderSet>1</ReminderSet><ReminderMinutesBeforeStart>30</ReminderMinutesBeforeStart>\
<BusyStatus>1</BusyStatus><Sensitivity>2</Sensitivity><Importance>2</Importance>\
<Categories>Work, Board</Categories>\
<IsRecurring>1</IsRecurring><RecurrenceType>1</RecurrenceType><Interval>2</Interval>\
<DayOfWeekMask>34</DayOfWeekMask><NoEndDate>0</NoEndDate><Occurrences>10</Occurrences>\
<PatternStartDate>20070105T090000Z</PatternStartDate>\
<Exceptions><ExcludeDate>20070115T090000Z</ExcludeDate><IncludeDate>20070117T090000Z</IncludeDate></Exceptions>\
</appointment>";

#[test]
fn an_appointment_keeps_every_mapped_field() {
    let (item, back) = round_trip(Datastore::Calendar, EVENT);
    assert_eq!(item.datastore, Datastore::Calendar);
    let canonical = &item.canonical;
    for line in [
        "BEGIN:VEVENT",
        "SUMMARY:Board meeting",
        "DTSTART:20070105T090000Z",
        "DTEND:20070105T103000Z",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=10;BYDAY=MO,FR",
        "EXDATE:20070115T090000Z",
        "RDATE:20070117T090000Z",
        "TRIGGER:-PT30M",
        "CLASS:PRIVATE",
        "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE",
        "PRIORITY:1",
    ] {
        assert!(canonical.contains(line), "{line} missing from\n{canonical}");
    }
    assert_fields_kept(EVENT, &back, canonical);
}

#[test]
fn all_day_appointments_and_nth_weekday_rules() {
    let sif = "<appointment><Subject>Holiday</Subject><AllDayEvent>1</AllDayEvent>\
<Start>2008-06-30</Start><End>2008-07-01</End><ReminderSet>0</ReminderSet>\
<IsRecurring>1</IsRecurring><RecurrenceType>6</RecurrenceType><Interval>1</Interval>\
<DayOfWeekMask>2</DayOfWeekMask><Instance>5</Instance><MonthOfYear>6</MonthOfYear>\
<NoEndDate>0</NoEndDate><PatternEndDate>2012-06-25</PatternEndDate>\
<Exceptions><ExcludeDate>2009-06-29</ExcludeDate></Exceptions></appointment>";
    let (item, back) = round_trip(Datastore::Calendar, sif);
    let canonical = &item.canonical;
    for line in [
        "DTSTART;VALUE=DATE:20080630",
        // iCalendar's end is the day after the last.
        "DTEND;VALUE=DATE:20080702",
        "RRULE:FREQ=YEARLY;UNTIL=20120625;BYDAY=-1MO;BYMONTH=6",
        "EXDATE;VALUE=DATE:20090629",
    ] {
        assert!(canonical.contains(line), "{line} missing from\n{canonical}");
    }
    assert_fields_kept(sif, &back, canonical);
}

const TASK: &str = "<?xml version=\"1.0\"?><task><Subject>File taxes</Subject>\
<Body>Forms A &amp; B</Body><StartDate>2008-04-01</StartDate><DueDate>2008-04-15</DueDate>\
<Complete>0</Complete><Status>3</Status><PercentComplete>40</PercentComplete>\
<Importance>0</Importance><Sensitivity>1</Sensitivity><Categories>Home</Categories>\
<ReminderSet>1</ReminderSet><ReminderTime>20080414T080000Z</ReminderTime>\
<IsRecurring>1</IsRecurring><RecurrenceType>2</RecurrenceType><Interval>1</Interval>\
<DayOfMonth>15</DayOfMonth><NoEndDate>1</NoEndDate><Exceptions/></task>";

#[test]
fn a_task_keeps_every_mapped_field() {
    let (item, back) = round_trip(Datastore::Tasks, TASK);
    assert_eq!(item.datastore, Datastore::Tasks);
    let canonical = &item.canonical;
    for line in [
        "BEGIN:VTODO",
        "DUE;VALUE=DATE:20080415",
        "STATUS:NEEDS-ACTION",
        "X-OUTLOOK-TASK-STATUS:WAITING",
        "PERCENT-COMPLETE:40",
        "PRIORITY:9",
        "CLASS:X-PERSONAL",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=15",
        "TRIGGER;VALUE=DATE-TIME:20080414T080000Z",
    ] {
        assert!(canonical.contains(line), "{line} missing from\n{canonical}");
    }
    assert_fields_kept(TASK, &back, canonical);
}

#[test]
fn a_completed_task_keeps_its_completion() {
    let sif = "<task><Subject>Done</Subject><Complete>1</Complete><Status>2</Status>\
<DateCompleted>20080502T100000Z</DateCompleted><DueDate>45001231T230000Z</DueDate></task>";
    let (item, back) = round_trip(Datastore::Calendar, sif);
    assert!(
        item.canonical.contains("COMPLETED:20080502T100000Z"),
        "{}",
        item.canonical
    );
    // Outlook's "no date" is no DUE.
    assert!(!item.canonical.contains("DUE"), "{}", item.canonical);
    assert_eq!(back.get("DueDate"), None);
    assert_fields_kept(
        &sif.replace("<DueDate>45001231T230000Z</DueDate>", ""),
        &back,
        &item.canonical,
    );
}

const NOTE: &str = "<note><SIFVersion>1.1</SIFVersion><Subject>Shopping</Subject>\
<Body>Milk\nBread &amp; butter</Body><Categories>Personal</Categories>\
<Color>3</Color><Height>200</Height><Width>180</Width><Left>40</Left><Top>60</Top></note>";

#[test]
fn a_note_keeps_every_mapped_field() {
    let (item, back) = round_trip(Datastore::Notes, NOTE);
    assert_eq!(item.datastore, Datastore::Notes);
    let canonical = &item.canonical;
    for line in [
        "BEGIN:VJOURNAL",
        "SUMMARY:Shopping",
        "DESCRIPTION:Milk\\nBread & butter",
        "X-FUNAMBOL-COLOR:3",
    ] {
        assert!(canonical.contains(line), "{line} missing from\n{canonical}");
    }
    assert_fields_kept(NOTE, &back, canonical);
}

#[test]
fn written_text_is_escaped_and_line_ends_are_crlf() {
    let mut writer = SifWriter::new(SifKind::Note);
    writer.field("Body", "a<b>&\"c'\nd\u{1}e");
    let written = writer.finish();
    assert!(
        written.contains("<Body>a&lt;b&gt;&amp;&quot;c&apos;&#13;\nde</Body>"),
        "{written}"
    );
    let read = SifDocument::parse(written.as_bytes()).unwrap();
    assert_eq!(read.get("Body"), Some("a<b>&\"c'\nde"));
}

#[test]
fn bad_documents_are_refused_with_a_precise_message() {
    let error = |bytes: &str, datastore| from_sif(datastore, bytes.as_bytes()).unwrap_err();
    let message = error(
        "<contact><FirstName>Ada</LastName></contact>",
        Datastore::Contacts,
    );
    assert!(
        message.starts_with("SIF is not well-formed XML"),
        "{message}"
    );
    let message = error("<contact><FirstName>Ada</FirstName>", Datastore::Contacts);
    assert!(
        message.contains("not closed") || message.contains("well-formed"),
        "{message}"
    );
    let message = error("<vcard><N>x</N></vcard>", Datastore::Contacts);
    assert_eq!(
        message,
        "SIF root element is <vcard>, not <contact>, <appointment>, <task> or <note>"
    );
    let message = error("BEGIN:VCARD\r\nEND:VCARD\r\n", Datastore::Contacts);
    assert!(
        message.contains("outside its root") || message.contains("without a root"),
        "{message}"
    );
    let message = error("<note><Body>x</Body></note>", Datastore::Contacts);
    assert_eq!(message, "SIF <note> where a contact was expected");
    let message = error(
        "<appointment><Subject>x</Subject></appointment>",
        Datastore::Calendar,
    );
    assert_eq!(message, "SIF appointment without Start");
    let message = error(
        "<appointment><Start>tomorrow</Start></appointment>",
        Datastore::Calendar,
    );
    assert_eq!(message, "SIF Start \"tomorrow\" is not a date or time");
    let message = error("<contact/><contact/>", Datastore::Contacts);
    assert!(
        message.contains("second root") || message.contains("after its root"),
        "{message}"
    );
    // An empty root is a valid, empty item.
    assert!(from_sif(Datastore::Notes, b"<note/>").is_ok());
}

#[test]
fn content_types_name_the_kinds() {
    for kind in SifKind::ALL {
        assert_eq!(SifKind::from_content_type(kind.content_type()), Some(kind));
    }
    assert_eq!(
        SifKind::from_content_type("TEXT/X-S4J-SIFE"),
        Some(SifKind::Event)
    );
    assert_eq!(SifKind::from_content_type("text/x-vcard"), None);
}
