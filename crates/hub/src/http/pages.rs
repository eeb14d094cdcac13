//! The hub's page templates (`crates/hub/templates/`, on the shared layout).

use askama::Template;

/// The hub's name in page titles.
pub(super) const PRODUCT: &str = "Latchkey Hub";

/// Log In.
#[derive(Template)]
#[template(path = "hub_login.html")]
pub(super) struct Login<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub workspace: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

/// One bar pair of a connector's run chart.
pub(super) struct RunBar {
    pub x: i64,
    pub in_h: i64,
    pub out_h: i64,
    pub failed: bool,
    pub label: String,
}

/// One connector in View Connectors.
pub(super) struct ConnectorCard {
    pub name: String,
    pub object: String,
    pub direction: String,
    pub every: String,
    pub state: String,
    pub state_label: &'static str,
    pub error: Option<String>,
    pub last_run: Option<String>,
    pub latest: String,
    pub bars: Vec<RunBar>,
    pub chart_width: i64,
}

/// A connection test waiting for the person's confirmation, after failed logins.
pub(super) struct Confirm {
    /// Failed logins the hub caused since the CRM last accepted the record.
    pub failures: usize,
    /// The CRM user whose account they count against.
    pub username: String,
    /// Where the confirmed test is posted.
    pub action: String,
}

/// Tools → Data Sync → View Connectors.
#[derive(Template)]
#[template(path = "data_sync.html")]
pub(super) struct DataSync<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub workspace: &'a str,
    pub connectors: Vec<ConnectorCard>,
    pub banners: Vec<String>,
    /// A success, in green.
    pub notice: Option<&'a str>,
    /// A failure or refusal, in red.
    pub error: Option<&'a str>,
    pub confirm: Option<Confirm>,
}

/// Data Source Properties, or Tools → Integration → Security (the same record).
#[derive(Template)]
#[template(path = "data_source.html")]
pub(super) struct DataSource<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub workspace: &'a str,
    pub title: &'a str,
    pub breadcrumb: &'a str,
    pub action: &'a str,
    pub login_url: &'a str,
    pub username: &'a str,
    pub client_id: &'a str,
    pub password_set: bool,
    pub token_set: bool,
    pub client_secret_set: bool,
    /// The record connects by OAuth (a refresh token, no password).
    pub oauth: bool,
    /// The callback URL the connected app must register.
    pub callback: &'a str,
    /// A success, in green.
    pub notice: Option<&'a str>,
    /// A failure or refusal, in red.
    pub error: Option<&'a str>,
    pub confirm: Option<Confirm>,
}

/// On the way to the CRM to allow the hub's access.
#[derive(Template)]
#[template(path = "connect.html")]
pub(super) struct Connect<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub workspace: &'a str,
    pub authorize_url: &'a str,
    pub login_url: &'a str,
}

/// The workspace's contacts: (name, e-mail, CRM id, fields waiting to be pushed).
#[derive(Template)]
#[template(path = "contacts.html")]
pub(super) struct Contacts<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub workspace: &'a str,
    pub contacts: Vec<(String, String, String, String)>,
}
