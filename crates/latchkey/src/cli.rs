//! The command line: the product and the operator's toolbox.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Latchkey: an org server that never lets a password reset silently break an
/// integration, and the tools to run it.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Data directory (embedded database, mail folder, keys).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… (default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Configuration file (default: ./latchkey.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up a demo org (administrator, standard user, connected app), print how to
    /// use it, and run the server.
    Demo(ServeArgs),
    /// Run the org server until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Exit 0 when the server at URL answers its health check.
    Healthcheck {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8440")]
        url: String,
        /// CA certificate to trust for an https:// URL.
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
    },
    /// Measure login throughput against the argon2 limit; prints a table.
    Bench(BenchArgs),
    /// Benchmark the hub's sync: initial pull of many contacts, incremental sync of 10.
    BenchSync(BenchSyncArgs),
    /// Apply database migrations.
    Migrate,
    /// Hash a password read from standard input and print the PHC string.
    HashPassword {
        /// Read the password from standard input (required; passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// The embedded mail folder and the outbox.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Administer orgs, users, policies and network access.
    #[command(subcommand)]
    Org(OrgCommand),
    /// The integration hub: workspaces and their CRM credential records.
    #[command(subcommand)]
    Hub(HubCommand),
    /// The desktop client: one user's CRM login, and contacts from vCards.
    Client(ClientArgs),
}

/// `latchkey client …`
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The client's directory (default: the user's configuration directory, such as
    /// ~/.config/latchkey/client).
    #[arg(long, env = "LATCHKEY_CLIENT_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: ClientCommand,
}

/// Where the client keeps the password and security token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageChoice {
    /// The system keyring when one answers, else a sealed file.
    Auto,
    /// The system keyring, or fail.
    Keyring,
    /// A sealed file beside its key, both readable only by you.
    File,
}

/// `latchkey client` commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Enter (or change) the login: asks for what is not given, verifies it with one
    /// login, and stores it.
    Settings {
        /// The org's login URL.
        #[arg(long, value_name = "URL")]
        login_url: Option<String>,
        /// The username.
        #[arg(long)]
        username: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Read the security token from standard input (the line after the password
        /// with --password-stdin; an empty line for none).
        #[arg(long)]
        token_stdin: bool,
        /// A CA certificate to trust for the login URL (for example the demo CA).
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Where to keep the password and token.
        #[arg(long, value_enum, default_value = "auto")]
        storage: StorageChoice,
        /// Connect by OAuth instead (the loopback flow: the browser, PKCE, no
        /// password held); needs the org's public connected app.
        #[arg(long, requires = "client_id", conflicts_with_all = ["username", "password_stdin", "token_stdin"])]
        oauth: bool,
        /// The connected app's client id (with --oauth).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Print the address only; do not start the system browser (with --oauth).
        #[arg(long)]
        no_browser: bool,
    },
    /// Who is logged in, the security token's age, and when the password expires.
    Status,
    /// Contacts.
    #[command(subcommand)]
    Contact(ContactCommand),
}

/// `latchkey client contact …`
#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Save the cards of a vCard file (3.0 or 4.0; `-` reads standard input) as
    /// Contacts: updated where one has the card's e-mail, else created.
    Save {
        /// The file.
        file: PathBuf,
    },
    /// Two-way sync between a folder of .vcf files and your own Contacts.
    Sync {
        /// The folder (created when missing).
        folder: PathBuf,
    },
}

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

/// Listener options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the org server's listener (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8440")]
    pub org_listen: std::net::SocketAddr,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// demo only: serve plain HTTP instead of HTTPS with the demo CA.
    #[arg(long)]
    pub plain_http: bool,
}

/// Benchmark options.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seconds per run of each figure; (a) and (b) spend them in four alternating
    /// slices.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Also write the report to this file (e.g. BENCHMARKS.md).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Hub sync benchmark options.
#[derive(Debug, Args)]
pub struct BenchSyncArgs {
    /// Contacts in the org.
    #[arg(long, default_value_t = 100_000)]
    pub contacts: usize,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also write the report to this file (e.g. BENCHMARKS.md).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `latchkey mail …`
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List the messages in the mail folder.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one message.
    Show {
        /// Message id, as `mail list` prints it.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deliver every due message in the outbox now.
    Deliver,
    /// Send a test message to ADDRESS through the configured transport, and say
    /// whether it was delivered (exit 1 with the relay's answer if not).
    SendTest {
        /// Recipient.
        address: String,
    },
}

/// `latchkey org …`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an org; prints its id.
    Create {
        /// Display name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List orgs.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Connected apps (OAuth clients).
    #[command(subcommand)]
    App(AppCommand),
    /// Security tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The password policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Network access.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Custom fields of Account, Contact and Lead.
    #[command(subcommand)]
    Field(FieldCommand),
    /// Webhook endpoints that hear of credential changes (password changed, token
    /// reset, user locked, unlocked, frozen, unfrozen).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Login history, newest first.
    LoginHistory {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey org webhook …`
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; prints its id and signing secret (the secret only now).
    Add {
        /// Where deliveries are POSTed.
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List endpoints with their latest delivery.
    List {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recent deliveries of an endpoint, newest first.
    Deliveries {
        /// Endpoint id.
        id: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give an endpoint a new signing secret; prints it (only now).
    RotateSecret {
        /// Endpoint id.
        id: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// Remove an endpoint and its deliveries.
    Remove {
        /// Endpoint id.
        id: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
}

/// `latchkey org field …`
#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// Add a custom field (`Gator_Score__c`) to an object.
    Add {
        /// Account, Contact or Lead.
        object: String,
        /// API name, ending in `__c`.
        name: String,
        /// text, number, checkbox, date, datetime, email, phone or url.
        #[arg(long = "type", default_value = "text")]
        field_type: String,
        /// Label (default: the name without `__c`, underscores as spaces).
        #[arg(long)]
        label: Option<String>,
        /// Longest text (text types).
        #[arg(long, default_value_t = 255)]
        length: u32,
        /// Required on create.
        #[arg(long)]
        required: bool,
        /// An external id (upsert key; unique).
        #[arg(long)]
        external_id: bool,
        /// Unique within the org.
        #[arg(long)]
        unique: bool,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// List an org's custom fields.
    List {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey org user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; a security token is generated and mailed.
    Create {
        /// Username (looks like an e-mail address).
        username: String,
        /// E-mail address for tokens and notices.
        #[arg(long)]
        email: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Profile name.
        #[arg(long, default_value = "Standard User")]
        profile: String,
        /// Given name.
        #[arg(long)]
        first_name: Option<String>,
        /// Family name.
        #[arg(long)]
        last_name: Option<String>,
        /// Read the initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        /// Username.
        username: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an org's users.
    List {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a password (read from standard input); the token resets and is mailed.
    SetPassword {
        /// Username.
        username: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Mail a temporary password that must be changed at next login; resets the token
    /// and lifts a lock.
    ResetPassword {
        /// Username.
        username: String,
    },
    /// End every session of the user (SOAP sessions and OAuth access tokens).
    RevokeSessions {
        /// Username.
        username: String,
    },
    /// Lift a lockout.
    Unlock {
        /// Username.
        username: String,
    },
    /// Deactivate: no login at all; sessions and OAuth refresh tokens end.
    Deactivate {
        /// Username.
        username: String,
    },
    /// Reactivate a deactivated user.
    Activate {
        /// Username.
        username: String,
    },
    /// Block every login without deactivating.
    Freeze {
        /// Username.
        username: String,
    },
    /// Allow logins again.
    Unfreeze {
        /// Username.
        username: String,
    },
}

/// `latchkey org app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create a connected app; prints its client id and secret (the secret only now).
    Create {
        /// App name.
        #[arg(long)]
        name: String,
        /// The user the client-credentials grant runs as.
        #[arg(long)]
        run_as: Option<String>,
        /// OAuth callback URL (the web-server flow redirects only there).
        #[arg(long)]
        callback: Option<String>,
        /// A public client (desktop or mobile app that cannot keep a secret): the
        /// web-server flow needs no secret but requires PKCE.
        #[arg(long)]
        public: bool,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pre-authorise a user for an app: prints an OAuth refresh token (only now) that
    /// the `refresh_token` grant exchanges for access tokens without the password.
    Authorize {
        /// App name.
        #[arg(long)]
        name: String,
        /// Username.
        #[arg(long)]
        user: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Register the certificate (or RSA public key), PEM, whose private key signs the
    /// app's JWT bearer assertions.
    Certificate {
        /// App name.
        #[arg(long)]
        name: String,
        /// The PEM file.
        #[arg(long, value_name = "PEM")]
        file: PathBuf,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// Set the app's OAuth policies (only those given change).
    Policy {
        /// App name.
        #[arg(long)]
        name: String,
        /// Who may use the app: `all` (every user who allows it) or `admin-approved`
        /// (only users an administrator pre-authorised).
        #[arg(long, value_parser = ["all", "admin-approved"])]
        permitted_users: Option<String>,
        /// Refresh tokens: `until-revoked`, `immediately` (none issued) or a number of
        /// minutes after which they expire.
        #[arg(long, value_name = "POLICY")]
        refresh_token: Option<String>,
        /// `relax` lets the app's OAuth logins past the profiles' login IP ranges;
        /// `enforce` (the default) does not.
        #[arg(long, value_parser = ["enforce", "relax"])]
        ip_relaxation: Option<String>,
        /// The scopes the app may be granted, space-separated (api refresh_token
        /// offline_access full openid id profile email web).
        #[arg(long)]
        scopes: Option<String>,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// Set the app's refresh-token policy.
    RefreshPolicy {
        /// App name.
        #[arg(long)]
        name: String,
        /// Whether refresh tokens survive the user's password change or reset (the
        /// default, so that OAuth integrations outlive password resets).
        #[arg(long, action = clap::ArgAction::Set)]
        survives_password_change: Option<bool>,
        /// Whether each refresh replaces the refresh token (a replaced token presented
        /// again revokes every token of its grant).
        #[arg(long, action = clap::ArgAction::Set)]
        rotate: Option<bool>,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
}

/// `latchkey org token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue and mail a new security token; the old one stops working.
    Reset {
        /// Username.
        username: String,
    },
}

/// `latchkey org policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show the password policy.
    Show {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change the password policy; unnamed settings keep their values.
    Set {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// 30d, 60d, 90d, 180d, 365d or never.
        #[arg(long)]
        password_expiry: Option<String>,
        /// 3, 5, 10 or none.
        #[arg(long)]
        max_invalid_attempts: Option<String>,
        /// 15m, 30m, 60m or forever.
        #[arg(long)]
        lockout: Option<String>,
        /// Which sources a lock shuts out: smart (unfamiliar sources only; the
        /// default) or all (every source and grant, as Salesforce does).
        #[arg(long)]
        lockout_scope: Option<String>,
        /// Passwords remembered, 0–24.
        #[arg(long)]
        history: Option<String>,
        /// Minimum length, 5–50.
        #[arg(long)]
        min_length: Option<String>,
        /// none, alpha-numeric, alpha-numeric-special, upper-lower-numeric,
        /// upper-lower-numeric-special or any-3.
        #[arg(long)]
        complexity: Option<String>,
    },
}

/// `latchkey org network …`
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Org-wide trusted IP ranges.
    #[command(subcommand)]
    Trusted(TrustedCommand),
}

/// `latchkey org network trusted …`
#[derive(Debug, Subcommand)]
pub enum TrustedCommand {
    /// Trust a range (CIDR, START-END or one address).
    Add {
        /// The range.
        range: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// Stop trusting a range.
    Remove {
        /// The range.
        range: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// List trusted ranges.
    List {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey org profile …`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Login IP ranges: logins from outside them are refused.
    #[command(subcommand)]
    LoginRanges(LoginRangesCommand),
    /// List profiles with their login IP ranges.
    List {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latchkey org profile login-ranges …`
#[derive(Debug, Subcommand)]
pub enum LoginRangesCommand {
    /// Replace a profile's login IP ranges.
    Set {
        /// Profile name.
        profile: String,
        /// Ranges (CIDR, START-END or one address).
        #[arg(required = true)]
        ranges: Vec<String>,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
    /// Remove every login IP range of a profile.
    Clear {
        /// Profile name.
        profile: String,
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
    },
}
