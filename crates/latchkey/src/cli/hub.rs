//! `latchkey hub …`: the integration hub's workspaces, records, connectors and users.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `latchkey hub …`
#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// CRM credential records (one per CRM org in a workspace; secrets are write-only).
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Connectors ("Data Sync").
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Hub users (owners are told when a connector is suspended).
    #[command(subcommand)]
    User(HubUserCommand),
    /// The hub's own contacts (synced with the CRM by connectors).
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Seal every credential record under a new key, in one transaction.
    RotateKey,
    /// Run every workspace's connectors on their intervals until SIGTERM or Ctrl-C
    /// (transient failures back off exponentially with jitter; suspended connectors
    /// wait for new credentials). Several instances may share one database.
    Run {
        /// A PEM CA certificate to trust for https:// login URLs.
        #[arg(long)]
        ca: Option<std::path::PathBuf>,
        /// How often to look for due connectors (like 1s).
        #[arg(long, default_value = "1s")]
        tick: String,
        /// Most connectors syncing at once in this process.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Also serve the hub's HTTP endpoints here (the org's webhooks go to
        /// `/webhooks/{credential record id}`; port 0 picks a free port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
}

/// `latchkey hub contacts …`
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List the workspace's contacts (a `*` marks changes not yet pushed).
    List {
        /// Workspace name.
        workspace: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a contact; the next push creates it in the CRM.
    Add {
        /// Workspace name.
        workspace: String,
        /// Last name.
        #[arg(long)]
        last_name: String,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
    },
    /// Change a contact's fields (an empty value clears one); the next push sends them.
    Edit {
        /// Workspace name.
        workspace: String,
        /// The contact's hub id.
        id: String,
        /// Last name.
        #[arg(long)]
        last_name: Option<String>,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// E-mail.
        #[arg(long)]
        email: Option<String>,
    },
    /// Import contacts from CSV (header: FirstName, LastName, Email[, Id]); all or nothing.
    Import {
        /// Workspace name.
        workspace: String,
        /// The CSV file.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
    },
    /// Export the workspace's contacts as CSV.
    Export {
        /// Workspace name.
        workspace: String,
        /// Write here (default: standard output).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
}

/// `latchkey hub user …`
#[derive(Debug, Subcommand)]
pub enum HubUserCommand {
    /// Create a hub user; the password is read from standard input.
    Create {
        /// Workspace name.
        workspace: String,
        /// E-mail address (the login name).
        email: String,
        /// owner or member.
        #[arg(long, default_value = "member", value_parser = ["owner", "member"])]
        role: String,
        /// Read the password from standard input (required; passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a hub user's password (read from standard input); ends the user's sessions.
    SetPassword {
        /// Workspace name.
        workspace: String,
        /// E-mail address (the login name).
        email: String,
        /// Read the password from standard input (required; passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// End every session of a hub user (a lost laptop, a copied cookie).
    EndSessions {
        /// Workspace name.
        workspace: String,
        /// E-mail address (the login name).
        email: String,
    },
}

/// `latchkey hub connector …`
#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Add a connector on the workspace's credential record.
    Add {
        /// Workspace name.
        workspace: String,
        /// Connector name.
        name: String,
        /// CRM object: Contact, Account or Lead.
        #[arg(long, default_value = "Contact")]
        object: String,
        /// pull, push or both.
        #[arg(long, default_value = "both")]
        direction: String,
        /// Interval: 60s, 5m, 1h.
        #[arg(long, default_value = "60s")]
        every: String,
        /// Which credential record (needed when the workspace has several).
        #[arg(long)]
        login_url: Option<String>,
        /// CRM external-id field (on Contact) that new contacts are pushed by, so a
        /// replayed push never creates a duplicate. Default for push and both:
        /// Latchkey_Hub_Id__c.
        #[arg(long)]
        external_id_field: Option<String>,
        /// A hub field's name in the CRM when it differs, like Email=Work_Email__c
        /// (hub fields: FirstName, LastName, Email); repeatable.
        #[arg(long = "map", value_name = "HUB=CRM")]
        field_map: Vec<String>,
    },
    /// List the workspace's connectors with state and last error.
    List {
        /// Workspace name.
        workspace: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one connector.
    Show {
        /// Workspace name.
        workspace: String,
        /// Connector name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable or disable a connector.
    State {
        /// Workspace name.
        workspace: String,
        /// Connector name.
        name: String,
        /// enabled or disabled.
        #[arg(value_parser = ["enabled", "disabled"])]
        state: String,
    },
    /// Test the connector's connection once, through the guard.
    Test {
        /// Workspace name.
        workspace: String,
        /// Connector name.
        name: String,
        /// CA certificate to trust for an https:// login URL.
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
        /// Test even though the hub caused failed logins since the CRM last accepted
        /// the record (the CRM may lock the account after as few as 3).
        #[arg(long)]
        confirm: bool,
    },
    /// Sync now: pull, then push, as the connector's direction says (with a progress bar).
    Sync {
        /// Workspace name.
        workspace: String,
        /// Connector name.
        name: String,
        /// CA certificate to trust for an https:// login URL.
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey hub workspace …`
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace.
    Create {
        /// Name.
        name: String,
    },
    /// List workspaces.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey hub credential …`
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Save the workspace's credential record for a CRM org. Each `--*-stdin` flag reads
    /// one line from standard input, in the order: password, token, client secret,
    /// refresh token.
    Set(CredentialSet),
    /// Store the org's webhook signing secret (`whsec_…`, one line on standard input)
    /// in the workspace's record, so the org's announcements of password changes,
    /// token resets, locks and freezes suspend it before any login fails. Prints the
    /// path to register at the org: `/webhooks/{record id}` under `hub run --listen`.
    Webhook {
        /// Workspace name.
        workspace: String,
        /// Which record (needed when the workspace has several).
        #[arg(long)]
        login_url: Option<String>,
        /// Remove the secret instead (announcements are then refused).
        #[arg(long)]
        remove: bool,
    },
    /// Show the workspace's records: which secrets are set, never their values.
    Show {
        /// Workspace name.
        workspace: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Log in to the CRM once with the workspace's record.
    Test {
        /// Workspace name.
        workspace: String,
        /// Which record (needed when the workspace has several).
        #[arg(long)]
        login_url: Option<String>,
        /// CA certificate to trust for an https:// login URL.
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
        /// Test even though the hub caused failed logins since the CRM last accepted
        /// the record (the CRM may lock the account after as few as 3).
        #[arg(long)]
        confirm: bool,
    },
}

/// `hub credential set`: the record's login URL, username and where its secrets come
/// from.
#[derive(Debug, Args)]
pub struct CredentialSet {
    /// Workspace name.
    pub workspace: String,
    /// The CRM org's login URL.
    #[arg(long)]
    pub login_url: String,
    /// CRM username.
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the security token from standard input.
    #[arg(long)]
    pub token_stdin: bool,
    /// Connected-app client id (OAuth).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret from standard input.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// Read an OAuth refresh token from standard input (no password needed then).
    #[arg(long)]
    pub refresh_token_stdin: bool,
    /// The private key (PEM file) of the connected app's JWT certificate: the record
    /// logs in by JWT bearer (with --client-id) and holds no password.
    #[arg(long, value_name = "PEM")]
    pub jwt_key_file: Option<PathBuf>,
    /// CA certificate to trust when the new secrets are tested (suspended connectors).
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Test the new secrets even though the hub caused failed logins since the CRM
    /// last accepted the record (the CRM may lock the account after as few as 3).
    #[arg(long)]
    pub confirm: bool,
}
