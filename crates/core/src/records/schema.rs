//! The objects integrations read and write — Account, Contact, Lead, Opportunity, and
//! the org's users, profiles and login history — with their standard fields, plus the
//! custom fields an admin adds. Every field names the
//! storage column it lives in; the store renders SQL from these columns only, never
//! from client text.

use std::fmt;
use std::str::FromStr;

mod identity;

/// The type of a field, as `describe` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// The record id.
    Id,
    /// An id of another record (`referenceTo`).
    Reference(&'static str),
    /// Text up to `length` characters.
    String,
    /// Long text.
    TextArea,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A URL.
    Url,
    /// One of a list of values (stored as text).
    Picklist,
    /// true / false.
    Boolean,
    /// A number.
    Double,
    /// A calendar date.
    Date,
    /// A point in time.
    DateTime,
}

impl FieldType {
    /// The `type` name in describe results.
    pub fn describe_name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Reference(_) => "reference",
            Self::String => "string",
            Self::TextArea => "textarea",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Picklist => "picklist",
            Self::Boolean => "boolean",
            Self::Double => "double",
            Self::Date => "date",
            Self::DateTime => "datetime",
        }
    }

    /// The `soapType` in describe results.
    pub fn soap_type(self) -> &'static str {
        match self {
            Self::Id | Self::Reference(_) => "tns:ID",
            Self::Boolean => "xsd:boolean",
            Self::Double => "xsd:double",
            Self::Date => "xsd:date",
            Self::DateTime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    /// How values of this type are stored.
    pub fn storage(self) -> Storage {
        match self {
            Self::Boolean => Storage::Flag,
            Self::Double => Storage::Real,
            Self::DateTime => Storage::Millis,
            _ => Storage::Text,
        }
    }

    /// Whether values of this type are text (LIKE applies, lengths are checked).
    pub fn is_text(self) -> bool {
        self.storage() == Storage::Text && !matches!(self, Self::Date)
    }

    /// Whether comparisons and sorting ignore case (text other than ids, as in SOQL).
    pub fn folds_case(self) -> bool {
        self.is_text() && !matches!(self, Self::Id | Self::Reference(_))
    }
}

/// How a value is kept in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// TEXT (strings, ids, dates as `YYYY-MM-DD`).
    Text,
    /// Floating point.
    Real,
    /// 0 / 1.
    Flag,
    /// Epoch milliseconds.
    Millis,
}

/// Who may set a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Set by the system only (Id, CreatedDate, Name of a person …).
    System,
    /// Settable on create and update.
    Writable,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// API name (`LastName`, `Gator_Score__c`).
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: FieldType,
    /// Longest text accepted (0 for non-text).
    pub length: u32,
    /// Required on create (and may not be cleared).
    pub required: bool,
    /// Who may set it.
    pub access: Access,
    /// Added by an admin.
    pub custom: bool,
    /// Usable as the key of an upsert.
    pub external_id: bool,
    /// No two live records of the org may share a value.
    pub unique: bool,
    /// Relationship name of a reference (`Account` for `AccountId`).
    pub relationship: Option<&'static str>,
    /// Storage column (a fixed identifier, never client text).
    pub column: String,
}

impl Field {
    fn standard(name: &str, label: &str, field_type: FieldType, length: u32, column: &str) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            field_type,
            length,
            required: false,
            access: Access::Writable,
            custom: false,
            external_id: false,
            unique: false,
            relationship: None,
            column: column.to_owned(),
        }
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn system(mut self) -> Self {
        self.access = Access::System;
        self
    }

    /// Whether a client may set this field.
    pub fn writable(&self) -> bool {
        self.access == Access::Writable
    }
}

/// The standard objects. Account, Contact, Lead and Opportunity are records kept in
/// the records table; User, Organization, Profile, LoginHistory and UserLogin are the
/// org's own identity data, read through views of its tables and changed only through
/// the account services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// Companies.
    Account,
    /// People at accounts.
    Contact,
    /// Prospects.
    Lead,
    /// Deals in progress.
    Opportunity,
    /// The org's users.
    User,
    /// The org itself.
    Organization,
    /// The org's profiles.
    Profile,
    /// Every login attempt.
    LoginHistory,
    /// A user's login state (frozen, locked).
    UserLogin,
}

impl ObjectKind {
    /// Every object, in describe order.
    pub const ALL: [ObjectKind; 9] = [
        Self::Account,
        Self::Contact,
        Self::Lead,
        Self::Opportunity,
        Self::User,
        Self::Organization,
        Self::Profile,
        Self::LoginHistory,
        Self::UserLogin,
    ];

    /// API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Account => "Account",
            Self::Contact => "Contact",
            Self::Lead => "Lead",
            Self::Opportunity => "Opportunity",
            Self::User => "User",
            Self::Organization => "Organization",
            Self::Profile => "Profile",
            Self::LoginHistory => "LoginHistory",
            Self::UserLogin => "UserLogin",
        }
    }

    /// Label, as describe and error messages give it.
    pub fn label(self) -> &'static str {
        match self {
            Self::LoginHistory => "Login History",
            Self::UserLogin => "User Login",
            other => other.name(),
        }
    }

    /// Plural label.
    pub fn label_plural(self) -> &'static str {
        match self {
            Self::Account => "Accounts",
            Self::Contact => "Contacts",
            Self::Lead => "Leads",
            Self::Opportunity => "Opportunities",
            Self::User => "Users",
            Self::Organization => "Organizations",
            Self::Profile => "Profiles",
            Self::LoginHistory => "Login History",
            Self::UserLogin => "User Logins",
        }
    }

    /// Key prefix of its ids.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Account => "001",
            Self::Contact => "003",
            Self::Lead => "00Q",
            Self::Opportunity => "006",
            Self::User => "005",
            Self::Organization => "00D",
            Self::Profile => "00e",
            Self::LoginHistory => "0Ya",
            Self::UserLogin => "060",
        }
    }

    /// Whether `Name` is computed from `FirstName` and `LastName`.
    pub fn is_person(self) -> bool {
        matches!(self, Self::Contact | Self::Lead | Self::User)
    }

    /// Whether its records are kept in the records table, where clients create,
    /// update and delete them (and admins add custom fields).
    pub fn is_stored(self) -> bool {
        matches!(self, Self::Account | Self::Contact | Self::Lead | Self::Opportunity)
    }

    /// The stored objects that point at this one through a standard lookup named
    /// after it (`Contact.AccountId` for Account), each with that field: the child
    /// relationships describe lists, named by the child's plural label.
    pub fn children(self) -> impl Iterator<Item = (ObjectKind, String)> {
        Self::ALL
            .into_iter()
            .filter(|c| c.is_stored())
            .filter_map(move |child| {
                ObjectDef::standard(child)
                    .fields
                    .into_iter()
                    .find(|f| f.field_type == FieldType::Reference(self.name()) && f.relationship == Some(self.name()))
                    .map(|f| (child, f.name))
            })
    }

    /// The child relationship called `name` (`Contacts`): its object and lookup field.
    pub fn child(self, name: &str) -> Option<(ObjectKind, String)> {
        self.children()
            .find(|(c, _)| c.label_plural().eq_ignore_ascii_case(name))
    }

    /// Whether clients create and update its records: the stored objects, and User,
    /// whose writes go through the account services.
    pub fn writable(self) -> bool {
        self.is_stored() || self == Self::User
    }

    /// Whether the `updated`/`deleted` replication feeds serve it.
    pub fn replicateable(self) -> bool {
        self != Self::LoginHistory
    }

    /// The table or view its rows are read from (a fixed identifier).
    pub fn table(self) -> &'static str {
        match self {
            Self::Account | Self::Contact | Self::Lead | Self::Opportunity => "records",
            Self::User => "user_records",
            Self::Organization => "organization_records",
            Self::Profile => "profile_records",
            Self::LoginHistory => "login_history_records",
            Self::UserLogin => "user_login_records",
        }
    }

    /// Whether it has `OwnerId`, `Description` and `IsDeleted` (the records kept in
    /// the records table do).
    fn has_record_fields(self) -> bool {
        self.is_stored()
    }

    /// Whether it carries the audit fields (`CreatedDate`, `SystemModstamp`, …).
    fn audit(self) -> Audit {
        match self {
            Self::LoginHistory => Audit::None,
            Self::UserLogin => Audit::Modified,
            _ => Audit::Full,
        }
    }
}

/// Which audit fields an object has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audit {
    /// None (LoginHistory is an append-only trail with its own `LoginTime`).
    None,
    /// `LastModifiedDate`, `LastModifiedById` and `SystemModstamp` only.
    Modified,
    /// Created and modified dates and users, and `SystemModstamp`.
    Full,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Not the name of an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sObject type '{0}' is not supported.")]
pub struct UnknownObject(pub String);

impl FromStr for ObjectKind {
    type Err = UnknownObject;

    /// Object names are case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownObject(s.to_owned()))
    }
}

/// An object with its fields (standard ones first, then the org's custom fields).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDef {
    /// Which object.
    pub kind: ObjectKind,
    /// Its fields.
    pub fields: Vec<Field>,
}

impl ObjectDef {
    /// The standard fields of `kind`.
    pub fn standard(kind: ObjectKind) -> Self {
        use FieldType as T;
        let mut fields = vec![Field::standard("Id", &format!("{} ID", kind.label()), T::Id, 18, "id").system()];
        if kind.has_record_fields() {
            fields.push(Field::standard("IsDeleted", "Deleted", T::Boolean, 0, "is_deleted").system());
        }
        match kind {
            ObjectKind::Account => account_fields(&mut fields),
            ObjectKind::Contact => contact_fields(&mut fields),
            ObjectKind::Lead => lead_fields(&mut fields),
            ObjectKind::Opportunity => opportunity_fields(&mut fields),
            ObjectKind::User => identity::user_fields(&mut fields),
            ObjectKind::Organization => identity::organization_fields(&mut fields),
            ObjectKind::Profile => identity::profile_fields(&mut fields),
            ObjectKind::LoginHistory => identity::login_history_fields(&mut fields),
            ObjectKind::UserLogin => identity::user_login_fields(&mut fields),
        }
        if kind.has_record_fields() {
            fields.push(Field::standard(
                "Description",
                "Description",
                T::TextArea,
                32000,
                "description",
            ));
            let mut owner = Field::standard("OwnerId", "Owner ID", T::Reference("User"), 18, "owner_id");
            owner.relationship = Some("Owner");
            fields.push(owner);
        }
        let audit = kind.audit();
        if audit == Audit::Full {
            fields.push(Field::standard("CreatedDate", "Created Date", T::DateTime, 0, "created_at").system());
        }
        if audit != Audit::None {
            for (name, label, column) in [
                ("LastModifiedDate", "Last Modified Date", "last_modified_at"),
                ("SystemModstamp", "System Modstamp", "system_modstamp"),
            ] {
                fields.push(Field::standard(name, label, T::DateTime, 0, column).system());
            }
        }
        let users: &[(&str, &str, &str, &'static str)] = match audit {
            Audit::None => &[],
            Audit::Modified => &[(
                "LastModifiedById",
                "Last Modified By ID",
                "last_modified_by",
                "LastModifiedBy",
            )],
            Audit::Full => &[
                ("CreatedById", "Created By ID", "created_by", "CreatedBy"),
                (
                    "LastModifiedById",
                    "Last Modified By ID",
                    "last_modified_by",
                    "LastModifiedBy",
                ),
            ],
        };
        for &(name, label, column, relationship) in users {
            let mut f = Field::standard(name, label, T::Reference("User"), 18, column).system();
            f.relationship = Some(relationship);
            fields.push(f);
        }
        Self { kind, fields }
    }

    /// The field called `name` (case-insensitive, as in Salesforce).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship is called `name` (`Account` → `AccountId`).
    pub fn relationship(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.relationship.is_some_and(|r| r.eq_ignore_ascii_case(name)))
    }
}

/// `LeadSource`, which contacts, leads and opportunities share.
fn lead_source() -> Field {
    Field::standard("LeadSource", "Lead Source", FieldType::Picklist, 255, "lead_source")
}

/// The fields of a person (contact, lead): name, first name, last name.
fn person(fields: &mut Vec<Field>) {
    use FieldType as T;
    fields.push(Field::standard("Name", "Full Name", T::String, 121, "name").system());
    fields.push(Field::standard("FirstName", "First Name", T::String, 40, "first_name"));
    fields.push(Field::standard("LastName", "Last Name", T::String, 80, "last_name").required());
}

/// The standard fields only an account has.
fn account_fields(fields: &mut Vec<Field>) {
    use FieldType as T;
    fields.push(Field::standard("Name", "Account Name", T::String, 255, "name").required());
    fields.push(Field::standard("Phone", "Account Phone", T::Phone, 40, "phone"));
    fields.push(Field::standard("Website", "Website", T::Url, 255, "website"));
    fields.push(Field::standard("Industry", "Industry", T::Picklist, 255, "industry"));
    fields.push(Field::standard("BillingCity", "Billing City", T::String, 40, "city"));
    fields.push(Field::standard(
        "BillingCountry",
        "Billing Country",
        T::String,
        80,
        "country",
    ));
}

/// The standard fields only a contact has.
fn contact_fields(fields: &mut Vec<Field>) {
    use FieldType as T;
    person(fields);
    let mut account = Field::standard("AccountId", "Account ID", T::Reference("Account"), 18, "account_id");
    account.relationship = Some("Account");
    fields.push(account);
    fields.push(Field::standard("Email", "Email", T::Email, 80, "email"));
    fields.push(Field::standard("Phone", "Business Phone", T::Phone, 40, "phone"));
    fields.push(Field::standard(
        "MobilePhone",
        "Mobile Phone",
        T::Phone,
        40,
        "mobile_phone",
    ));
    fields.push(Field::standard("Title", "Title", T::String, 128, "title"));
    fields.push(Field::standard("Department", "Department", T::String, 80, "department"));
    fields.push(lead_source());
    fields.push(Field::standard("MailingCity", "Mailing City", T::String, 40, "city"));
    fields.push(Field::standard(
        "MailingCountry",
        "Mailing Country",
        T::String,
        80,
        "country",
    ));
}

/// The standard fields only a lead has.
fn lead_fields(fields: &mut Vec<Field>) {
    use FieldType as T;
    person(fields);
    fields.push(Field::standard("Company", "Company", T::String, 255, "company").required());
    fields.push(Field::standard("Email", "Email", T::Email, 80, "email"));
    fields.push(Field::standard("Phone", "Phone", T::Phone, 40, "phone"));
    fields.push(Field::standard(
        "MobilePhone",
        "Mobile Phone",
        T::Phone,
        40,
        "mobile_phone",
    ));
    fields.push(Field::standard("Title", "Title", T::String, 128, "title"));
    fields.push(Field::standard("Status", "Lead Status", T::Picklist, 255, "status"));
    fields.push(lead_source());
    fields.push(Field::standard("City", "City", T::String, 40, "city"));
    fields.push(Field::standard("Country", "Country", T::String, 80, "country"));
}

/// The standard fields only an opportunity has.
fn opportunity_fields(fields: &mut Vec<Field>) {
    use FieldType as T;
    fields.push(Field::standard("Name", "Name", T::String, 120, "name").required());
    let mut account = Field::standard("AccountId", "Account ID", T::Reference("Account"), 18, "account_id");
    account.relationship = Some("Account");
    fields.push(account);
    fields.push(Field::standard("StageName", "Stage", T::Picklist, 255, "stage_name").required());
    fields.push(Field::standard("CloseDate", "Close Date", T::Date, 0, "close_date").required());
    fields.push(Field::standard("Amount", "Amount", T::Double, 0, "amount"));
    fields.push(Field::standard(
        "Probability",
        "Probability (%)",
        T::Double,
        0,
        "probability",
    ));
    fields.push(Field::standard(
        "Type",
        "Opportunity Type",
        T::Picklist,
        255,
        "opportunity_type",
    ));
    fields.push(lead_source());
    fields.push(Field::standard("NextStep", "Next Step", T::String, 255, "next_step"));
}

/// The objects of one org: the standard fields plus the org's custom fields.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgSchema {
    objects: Vec<ObjectDef>,
}

impl OrgSchema {
    /// The schema of an org with these custom fields.
    pub fn new(custom: &[CustomField]) -> Self {
        let objects = ObjectKind::ALL
            .into_iter()
            .map(|kind| {
                let mut def = ObjectDef::standard(kind);
                def.fields.extend(
                    custom
                        .iter()
                        .filter(|c| c.object == kind && kind.is_stored())
                        .map(CustomField::to_field),
                );
                def
            })
            .collect();
        Self { objects }
    }

    /// One object.
    pub fn object(&self, kind: ObjectKind) -> &ObjectDef {
        let index = ObjectKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        &self.objects[index]
    }

    /// Every object.
    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }
}

/// Types an admin may give a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomType {
    /// Text (`length` up to 255).
    Text,
    /// Number.
    Number,
    /// Checkbox.
    Checkbox,
    /// Date.
    Date,
    /// Date/time.
    DateTime,
    /// E-mail.
    Email,
    /// Phone.
    Phone,
    /// URL.
    Url,
}

impl CustomType {
    /// Every type, as the CLI names them.
    pub const ALL: [(&'static str, CustomType); 8] = [
        ("text", Self::Text),
        ("number", Self::Number),
        ("checkbox", Self::Checkbox),
        ("date", Self::Date),
        ("datetime", Self::DateTime),
        ("email", Self::Email),
        ("phone", Self::Phone),
        ("url", Self::Url),
    ];

    /// The CLI / storage name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("text", |(n, _)| n)
    }

    /// The field type it describes as.
    pub fn field_type(self) -> FieldType {
        match self {
            Self::Text => FieldType::String,
            Self::Number => FieldType::Double,
            Self::Checkbox => FieldType::Boolean,
            Self::Date => FieldType::Date,
            Self::DateTime => FieldType::DateTime,
            Self::Email => FieldType::Email,
            Self::Phone => FieldType::Phone,
            Self::Url => FieldType::Url,
        }
    }
}

impl FromStr for CustomType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown field type '{s}' (one of: {})", names.join(", "))
            })
    }
}

/// A custom field as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// Object it belongs to.
    pub object: ObjectKind,
    /// API name, ending in `__c`.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    pub custom_type: CustomType,
    /// Longest text (text types).
    pub length: u32,
    /// Required on create.
    pub required: bool,
    /// External id (upsert key; implies unique).
    pub external_id: bool,
    /// Unique within the org.
    pub unique: bool,
}

/// Why a custom field definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomFieldError {
    /// Name shape.
    #[error("field name must be letters, digits and single underscores, start with a letter, end in __c, and be at most 43 characters")]
    BadName,
    /// Length out of range.
    #[error("text length must be between 1 and 255")]
    BadLength,
    /// External ids must be text, e-mail or number.
    #[error("only text, email and number fields can be external ids")]
    BadExternalId,
}

impl CustomField {
    /// Checks the definition.
    pub fn validate(&self) -> Result<(), CustomFieldError> {
        let Some(stem) = self.name.strip_suffix("__c") else {
            return Err(CustomFieldError::BadName);
        };
        let shape_ok = self.name.len() <= 43
            && stem.starts_with(|c: char| c.is_ascii_alphabetic())
            && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !stem.contains("__")
            && !stem.ends_with('_');
        if !shape_ok {
            return Err(CustomFieldError::BadName);
        }
        if self.custom_type.field_type().is_text() && !(1..=255).contains(&self.length) {
            return Err(CustomFieldError::BadLength);
        }
        if self.external_id
            && !matches!(
                self.custom_type,
                CustomType::Text | CustomType::Email | CustomType::Number
            )
        {
            return Err(CustomFieldError::BadExternalId);
        }
        Ok(())
    }

    /// The storage column: derived from the validated name and the type, so two orgs
    /// giving the same name different types never share a column.
    pub fn column(&self) -> String {
        format!("cf_{}_{}", self.custom_type.name(), self.name.to_ascii_lowercase())
    }

    /// The field as describe and validation see it.
    pub fn to_field(&self) -> Field {
        let ft = self.custom_type.field_type();
        Field {
            name: self.name.clone(),
            label: self.label.clone(),
            field_type: ft,
            length: if ft.is_text() { self.length } else { 0 },
            required: self.required,
            access: Access::Writable,
            custom: true,
            external_id: self.external_id,
            unique: self.unique || self.external_id,
            relationship: None,
            column: self.column(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str) -> CustomField {
        CustomField {
            object: ObjectKind::Contact,
            name: name.to_owned(),
            label: "L".into(),
            custom_type: CustomType::Number,
            length: 0,
            required: false,
            external_id: false,
            unique: false,
        }
    }

    #[test]
    fn custom_field_names_are_checked() {
        assert!(custom("Gator_Score__c").validate().is_ok());
        for bad in [
            "Gator",
            "1x__c",
            "a__b__c",
            "a_b___c",
            "x;drop__c",
            "__c",
            &format!("{}__c", "a".repeat(41)),
        ] {
            assert_eq!(custom(bad).validate(), Err(CustomFieldError::BadName), "{bad}");
        }
    }

    #[test]
    fn custom_columns_are_safe_identifiers_that_include_the_type() {
        let f = custom("Gator_Score__c");
        assert_eq!(f.column(), "cf_number_gator_score__c");
        assert!(f
            .column()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }

    #[test]
    fn lookups_are_case_insensitive() {
        let c = ObjectDef::standard("contact".parse().unwrap());
        assert_eq!(c.field("lastname").map(|f| f.column.as_str()), Some("last_name"));
        assert_eq!(c.relationship("account").map(|f| f.name.as_str()), Some("AccountId"));
        assert!(c.field("Company").is_none());
        assert!("Opportunities".parse::<ObjectKind>().is_err());
        assert_eq!("userlogin".parse::<ObjectKind>(), Ok(ObjectKind::UserLogin));
    }
}
