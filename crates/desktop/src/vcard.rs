//! vCard 3.0 / 4.0 files ⇄ Contact fields. Parsing is `calcard`'s (Stalwart's vCard
//! and iCalendar library, strict mode); this module only frames a file into cards with
//! their line numbers, so that a malformed card is reported by line and skipped whole,
//! and maps the properties a Contact has: N/FN, EMAIL, TEL (cell → MobilePhone, else
//! Phone), TITLE, ORG's unit → Department, ADR's locality and country, NOTE.
//! Writing a card back changes only those properties and keeps the rest.

use std::collections::BTreeMap;

use calcard::common::IanaString;
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty, VCardType, VCardValue,
};
use calcard::{Entry, Parser};
use latchkey_core::records::value::plausible_email;

/// Contact fields by their CRM names; only non-empty values are present.
pub type Fields = BTreeMap<String, String>;

/// The Contact fields a card maps to, with the CRM's length limits.
pub const FIELDS: [(&str, usize); 10] = [
    ("FirstName", 40),
    ("LastName", 80),
    ("Email", 80),
    ("Phone", 40),
    ("MobilePhone", 40),
    ("Title", 128),
    ("Department", 80),
    ("MailingCity", 40),
    ("MailingCountry", 80),
    ("Description", 32000),
];

/// A well-formed card.
#[derive(Debug, Clone)]
pub struct Card {
    /// The line of its `BEGIN:VCARD`.
    pub line: usize,
    /// What it says, as Contact fields.
    pub fields: Fields,
    /// The card itself (to write it back with changes).
    pub vcard: VCard,
}

/// A card that cannot be saved, and the line that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardError {
    /// The line of the fault (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A file's cards and its faults.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The well-formed cards, in file order.
    pub cards: Vec<Card>,
    /// One fault per card that could not be read (nothing of it is used).
    pub errors: Vec<CardError>,
}

/// A content line with its folded continuations.
#[derive(Debug)]
struct Line {
    number: usize,
    /// Unfolded.
    text: String,
    /// As written (for the parser), lines joined by CRLF.
    raw: String,
}

impl Line {
    /// The property name, upper case, without its group.
    fn name(&self) -> String {
        let head = self.text.split([':', ';']).next().unwrap_or_default();
        head.rsplit('.').next().unwrap_or_default().trim().to_ascii_uppercase()
    }

    fn value(&self) -> &str {
        self.text.split_once(':').map(|(_, v)| v.trim()).unwrap_or_default()
    }

    /// Whether the line has the colon that starts a value (outside quoted parameters).
    fn has_value(&self) -> bool {
        let mut quoted = false;
        for c in self.text.chars() {
            match c {
                '"' => quoted = !quoted,
                ':' if !quoted => return true,
                _ => {}
            }
        }
        false
    }

    fn is(&self, name: &str, value: &str) -> bool {
        self.name() == name && self.value().eq_ignore_ascii_case(value)
    }

    fn excerpt(&self) -> String {
        let text: String = self.text.chars().take(60).collect();
        if text.len() < self.text.len() {
            format!("{text}…")
        } else {
            text
        }
    }
}

fn logical_lines(text: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for (index, physical) in text.trim_start_matches('\u{feff}').split('\n').enumerate() {
        let physical = physical.strip_suffix('\r').unwrap_or(physical);
        match (physical.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) if !last.text.is_empty() => {
                last.text.push_str(rest);
                last.raw.push_str("\r\n");
                last.raw.push_str(physical);
            }
            _ => lines.push(Line {
                number: index + 1,
                text: physical.to_owned(),
                raw: physical.to_owned(),
            }),
        }
    }
    lines
}

/// The one card `text` holds, parsed strictly, or `None`.
fn strict_card(text: &str) -> Option<VCard> {
    let mut parser = Parser::new(text).strict();
    match (parser.entry(), parser.entry()) {
        (Entry::VCard(card), Entry::Eof) => Some(card),
        _ => None,
    }
}

/// Splits a file into cards and reads each; a faulty card is reported and skipped.
pub fn parse(text: &str) -> Parsed {
    let lines = logical_lines(text);
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.text.trim().is_empty() {
            i += 1;
            continue;
        }
        if !line.is("BEGIN", "VCARD") {
            parsed.errors.push(CardError {
                line: line.number,
                message: format!("expected BEGIN:VCARD, found {:?}", line.excerpt()),
            });
            i += 1;
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .position(|l| l.is("END", "VCARD") || l.is("BEGIN", "VCARD"))
            .map(|p| p + i + 1);
        match next {
            Some(end) if lines[end].is("END", "VCARD") => {
                match card(&lines[i..=end]) {
                    Ok(card) => parsed.cards.push(card),
                    Err(e) => parsed.errors.push(e),
                }
                i = end + 1;
            }
            _ => {
                parsed.errors.push(CardError {
                    line: line.number,
                    message: "this card has no END:VCARD".into(),
                });
                i = next.unwrap_or(lines.len());
            }
        }
    }
    parsed
}

/// Reads one card (`lines` from BEGIN to END).
fn card(lines: &[Line]) -> Result<Card, CardError> {
    let begin = lines[0].number;
    let fault = |line: usize, message: String| CardError { line, message };
    let properties = &lines[1..lines.len() - 1];
    match properties.iter().find(|l| l.name() == "VERSION") {
        None => return Err(fault(begin, "the card has no VERSION (3.0 or 4.0)".into())),
        Some(v) if !matches!(v.value(), "3.0" | "4.0") => {
            return Err(fault(
                v.number,
                format!("VERSION {} is not supported: use 3.0 or 4.0", v.value()),
            ))
        }
        Some(_) => {}
    }
    if let Some(l) = properties.iter().find(|l| !l.has_value()) {
        return Err(fault(
            l.number,
            format!("not a vCard property (NAME[;PARAMS]:VALUE): {:?}", l.excerpt()),
        ));
    }
    let raw: Vec<&str> = lines.iter().map(|l| l.raw.as_str()).collect();
    let vcard = match strict_card(&(raw.join("\r\n") + "\r\n")) {
        Some(card) if card.entries.len() == properties.len() => card,
        _ => {
            let culprit = properties.iter().find(|l| {
                let probe = format!("BEGIN:VCARD\r\n{}\r\nEND:VCARD\r\n", l.raw);
                strict_card(&probe).is_none_or(|c| c.entries.len() != 1)
            });
            return Err(match culprit {
                Some(l) => fault(l.number, format!("not a valid vCard property: {:?}", l.excerpt())),
                None => fault(begin, "the card cannot be read".into()),
            });
        }
    };
    let (fields, slots) = read_fields(&vcard);
    let line_of = |field: &str| {
        slots
            .get(field)
            .map_or(begin, |&index| properties.get(index).map_or(begin, |l| l.number))
    };
    if !fields.contains_key("LastName") {
        return Err(fault(begin, "the card has no name: give N or FN".into()));
    }
    for (name, limit) in FIELDS {
        if let Some(value) = fields.get(name) {
            if value.chars().count() > limit {
                return Err(fault(
                    line_of(name),
                    format!("{name} is longer than {limit} characters"),
                ));
            }
        }
    }
    if let Some(email) = fields.get("Email") {
        if !plausible_email(email) {
            return Err(fault(line_of("Email"), format!("{email:?} is not an e-mail address")));
        }
    }
    Ok(Card {
        line: begin,
        fields,
        vcard,
    })
}

fn value_text(value: &VCardValue) -> String {
    match value {
        VCardValue::Text(s) => s.clone(),
        VCardValue::Component(parts) => parts.join(","),
        _ => String::new(),
    }
}

/// The text of component `index` (structured properties: N, ADR, ORG).
fn component(entry: &VCardEntry, index: usize) -> String {
    entry
        .values
        .get(index)
        .map(value_text)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The whole value of an unstructured property.
fn whole(entry: &VCardEntry) -> String {
    let parts: Vec<String> = entry.values.iter().map(value_text).collect();
    parts.join(",").trim().to_owned()
}

fn has_type(entry: &VCardEntry, name: &str) -> bool {
    entry.parameters(&VCardParameterName::Type).any(|v| match v {
        VCardParameterValue::Type(t) => t.as_str().eq_ignore_ascii_case(name),
        VCardParameterValue::Text(s) => s.split(',').any(|p| p.trim().eq_ignore_ascii_case(name)),
        _ => false,
    })
}

fn preferred(entry: &VCardEntry) -> bool {
    has_type(entry, "pref") || entry.parameters(&VCardParameterName::Pref).next().is_some()
}

/// Which entry of the card carries each mapped field.
type Slots = BTreeMap<&'static str, usize>;

fn slots_of(card: &VCard) -> Slots {
    let of = |property: VCardProperty| card.entries.iter().enumerate().filter(move |(_, e)| e.name == property);
    let pick = |property: VCardProperty, keep: &dyn Fn(&VCardEntry) -> bool, better: &dyn Fn(&VCardEntry) -> bool| {
        let candidates: Vec<(usize, &VCardEntry)> = of(property).filter(|(_, e)| keep(e)).collect();
        candidates
            .iter()
            .find(|(_, e)| better(e))
            .or_else(|| candidates.first())
            .map(|(i, _)| *i)
    };
    let mut slots = Slots::new();
    let mut put = |name: &'static str, index: Option<usize>| {
        if let Some(i) = index {
            slots.insert(name, i);
        }
    };
    let any = |_: &VCardEntry| true;
    put("N", pick(VCardProperty::N, &any, &any));
    put("FN", pick(VCardProperty::Fn, &any, &any));
    put("Email", pick(VCardProperty::Email, &any, &preferred));
    put(
        "MobilePhone",
        pick(VCardProperty::Tel, &|e| has_type(e, "cell"), &preferred),
    );
    put(
        "Phone",
        pick(
            VCardProperty::Tel,
            &|e| !has_type(e, "cell") && !has_type(e, "fax"),
            &|e| has_type(e, "work") || preferred(e),
        ),
    );
    put("Title", pick(VCardProperty::Title, &any, &any));
    put("ORG", pick(VCardProperty::Org, &any, &any));
    put("ADR", pick(VCardProperty::Adr, &any, &|e| has_type(e, "work")));
    put("Description", pick(VCardProperty::Note, &any, &any));
    slots
}

/// The card's Contact fields, and which entry each came from (for line numbers).
fn read_fields(card: &VCard) -> (Fields, BTreeMap<String, usize>) {
    let slots = slots_of(card);
    let entry = |slot: &str| slots.get(slot).map(|&i| (i, &card.entries[i]));
    let mut fields = Fields::new();
    let mut origins = BTreeMap::new();
    let mut set = |name: &str, value: String, index: usize| {
        if !value.is_empty() {
            fields.insert(name.to_owned(), value);
            origins.insert(name.to_owned(), index);
        }
    };
    let (mut last, mut first) = (String::new(), String::new());
    if let Some((i, n)) = entry("N") {
        (last, first) = (component(n, 0), component(n, 1));
        set("LastName", last.clone(), i);
        set("FirstName", first.clone(), i);
    }
    if let Some((i, full)) = entry("FN").filter(|_| last.is_empty()) {
        let full = whole(full);
        let (given, family) = full.rsplit_once(' ').unwrap_or(("", full.as_str()));
        set("LastName", family.trim().to_owned(), i);
        if first.is_empty() {
            set("FirstName", given.trim().to_owned(), i);
        }
    }
    for name in ["Email", "MobilePhone", "Phone", "Title", "Description"] {
        if let Some((i, e)) = entry(name) {
            set(name, whole(e), i);
        }
    }
    if let Some((i, org)) = entry("ORG") {
        set("Department", component(org, 1), i);
    }
    if let Some((i, adr)) = entry("ADR") {
        set("MailingCity", component(adr, 3), i);
        set("MailingCountry", component(adr, 6), i);
    }
    (fields, origins)
}

/// Writes `fields` into a card: `existing` keeps every property the Contact does not
/// map (photo, birthday, other numbers …); a new card is vCard 4.0.
pub fn render(fields: &Fields, existing: Option<&VCard>) -> String {
    let mut card = existing.cloned().unwrap_or_else(|| VCard {
        entries: vec![VCardEntry::new(VCardProperty::Version).with_value("4.0".to_owned())],
    });
    let slots = slots_of(&card);
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let org_name = slots
        .get("ORG")
        .map(|&i| component(&card.entries[i], 0))
        .unwrap_or_default();
    let mut address = slots
        .get("ADR")
        .map(|&i| (0..7).map(|k| component(&card.entries[i], k)).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![String::new(); 7]);
    let mut edit = Edit {
        card: &mut card,
        slots: &slots,
        removed: Vec::new(),
    };
    let mut set_values = |slot: &str, property: VCardProperty, values: Vec<String>, params: Vec<VCardParameter>| {
        edit.set(slot, property, values, params);
    };
    let (first, last) = (get("FirstName"), get("LastName"));
    let full = [first.as_str(), last.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    set_values(
        "N",
        VCardProperty::N,
        vec![last, first, String::new(), String::new(), String::new()],
        vec![],
    );
    set_values("FN", VCardProperty::Fn, vec![full], vec![]);
    set_values("Email", VCardProperty::Email, vec![get("Email")], vec![]);
    set_values(
        "Phone",
        VCardProperty::Tel,
        vec![get("Phone")],
        vec![
            VCardParameter::typ(VCardType::Work),
            VCardParameter::typ(VCardType::Voice),
        ],
    );
    set_values(
        "MobilePhone",
        VCardProperty::Tel,
        vec![get("MobilePhone")],
        vec![VCardParameter::typ(VCardType::Cell)],
    );
    set_values("Title", VCardProperty::Title, vec![get("Title")], vec![]);
    set_values("Description", VCardProperty::Note, vec![get("Description")], vec![]);

    set_values("ORG", VCardProperty::Org, vec![org_name, get("Department")], vec![]);

    address[3] = get("MailingCity");
    address[6] = get("MailingCountry");
    set_values(
        "ADR",
        VCardProperty::Adr,
        address,
        vec![VCardParameter::typ(VCardType::Work)],
    );
    let mut removed = edit.removed;
    removed.sort_unstable();
    for i in removed.into_iter().rev() {
        card.entries.remove(i);
    }
    card.to_string()
}

/// A card being written: each field's slot (the entry it is read from) is updated
/// in place, created when missing, or marked for removal when emptied.
struct Edit<'a> {
    card: &'a mut VCard,
    slots: &'a Slots,
    removed: Vec<usize>,
}

impl Edit<'_> {
    /// Writes `values` into `slot`'s entry (a new `property` entry with `params` if
    /// the card has none).
    fn set(&mut self, slot: &str, property: VCardProperty, values: Vec<String>, params: Vec<VCardParameter>) {
        let empty = values.iter().all(String::is_empty);
        match self.slots.get(slot) {
            Some(&i) if empty => self.removed.push(i),
            Some(&i) => {
                let entry = &mut self.card.entries[i];
                for (k, v) in values.into_iter().enumerate() {
                    if k < entry.values.len() {
                        entry.values[k] = VCardValue::Text(v);
                    } else {
                        entry.values.push(VCardValue::Text(v));
                    }
                }
            }
            None if empty => {}
            None => self.card.entries.push(
                VCardEntry::new(property)
                    .with_params(params)
                    .with_values(values.into_iter().map(VCardValue::Text).collect()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTLOOK_30: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Roe;Jane;;;\r\nFN:Jane Roe\r\n\
        ORG:Acme Inc.;Purchasing\r\nTITLE:Buyer\r\nTEL;TYPE=WORK,VOICE:+1 555 0100\r\n\
        TEL;TYPE=CELL:+1 555 0199\r\nADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA\r\n\
        LABEL;TYPE=WORK:1 Main St\\nSpringfield\r\nEMAIL;TYPE=INTERNET,PREF:jane@acme.example\r\n\
        NOTE:Met at the fair\\, booth 12\r\nREV:2024-01-01T10:00:00Z\r\nCLASS:PUBLIC\r\nEND:VCARD\r\n";

    #[test]
    fn reads_a_3_0_card_from_a_mail_client() {
        let parsed = parse(OUTLOOK_30);
        assert_eq!(parsed.errors, vec![]);
        let fields = &parsed.cards[0].fields;
        let get = |k: &str| fields.get(k).map(String::as_str);
        assert_eq!(get("LastName"), Some("Roe"));
        assert_eq!(get("FirstName"), Some("Jane"));
        assert_eq!(get("Email"), Some("jane@acme.example"));
        assert_eq!(get("Phone"), Some("+1 555 0100"));
        assert_eq!(get("MobilePhone"), Some("+1 555 0199"));
        assert_eq!(get("Title"), Some("Buyer"));
        assert_eq!(get("Department"), Some("Purchasing"));
        assert_eq!(get("MailingCity"), Some("Springfield"));
        assert_eq!(get("MailingCountry"), Some("USA"));
        assert_eq!(get("Description"), Some("Met at the fair, booth 12"));
    }

    #[test]
    fn reads_4_0_and_takes_the_name_from_fn_when_n_is_missing() {
        let text = "BEGIN:VCARD\nVERSION:4.0\nFN:Ada King Lovelace\nEMAIL:ada@example.org\nEND:VCARD\n";
        let parsed = parse(text);
        assert_eq!(parsed.errors, vec![]);
        let fields = &parsed.cards[0].fields;
        assert_eq!(fields["LastName"], "Lovelace");
        assert_eq!(fields["FirstName"], "Ada King");
    }

    #[test]
    fn a_malformed_card_is_reported_by_line_and_the_others_are_kept() {
        let text = "BEGIN:VCARD\nVERSION:4.0\nFN:Ann One\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:Bob Two\nEMAIL;TYPE=work bob@example.org\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:Cy Three\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:2.1\nFN:Old Card\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:3.0\nFN:Dee Four\nEMAIL:not-an-address\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nEMAIL:x@example.org\nEND:VCARD\n\
                    stray text\n\
                    BEGIN:VCARD\nVERSION:4.0\nFN:Unfinished\n";
        let parsed = parse(text);
        let names: Vec<&str> = parsed.cards.iter().map(|c| c.fields["LastName"].as_str()).collect();
        assert_eq!(names, ["One", "Three"]);
        let errors: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.split(':').next().unwrap_or_default()))
            .collect();
        assert_eq!(
            errors,
            [
                (8, "not a vCard property (NAME[;PARAMS]"),
                (15, "VERSION 2.1 is not supported"),
                (21, "\"not-an-address\" is not an e-mail address"),
                (23, "the card has no name"),
                (27, "expected BEGIN"),
                (28, "this card has no END"),
            ]
        );
    }

    #[test]
    fn folded_lines_keep_their_first_line_number() {
        let text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Long\r\n Name\r\nNOTE:a\r\n  b\r\nBAD LINE\r\nEND:VCARD\r\n";
        let parsed = parse(text);
        assert_eq!(parsed.errors[0].line, 7);
        let ok = parse(&text.replace("BAD LINE\r\n", ""));
        assert_eq!(ok.cards[0].fields["LastName"], "LongName");
        assert_eq!(ok.cards[0].fields["Description"], "a b");
    }

    #[test]
    fn rendering_changes_the_mapped_properties_and_keeps_the_rest() {
        let card = parse(OUTLOOK_30).cards.remove(0);
        let mut fields = card.fields.clone();
        fields.insert("Title".into(), "Head of Buying".into());
        fields.remove("MobilePhone");
        fields.insert("MailingCity".into(), "Shelbyville".into());
        let text = render(&fields, Some(&card.vcard));
        assert!(text.contains("VERSION:3.0"), "{text}");
        assert!(text.contains("LABEL"), "unmapped properties stay: {text}");
        let again = parse(&text);
        assert_eq!(again.errors, vec![]);
        assert_eq!(again.cards[0].fields, fields);
        assert!(text.contains("Acme Inc."), "the organisation's name stays: {text}");

        let fresh = render(&fields, None);
        assert!(fresh.contains("VERSION:4.0"));
        assert_eq!(parse(&fresh).cards[0].fields, fields);
    }
}
