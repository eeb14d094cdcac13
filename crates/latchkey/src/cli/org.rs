//! `latchkey org …`: orgs, users, apps, policy, networks, profiles, fields, webhooks.

use std::path::PathBuf;

use clap::Subcommand;

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
    /// The password login flows Salesforce is retiring (SOAP login(), the OAuth
    /// username-password flow): close them to rehearse the retirement.
    #[command(subcommand)]
    LoginFlows(LoginFlowsCommand),
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

/// `latchkey org login-flows …`
#[derive(Debug, Subcommand)]
pub enum LoginFlowsCommand {
    /// Show which password login flows are open.
    Show {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open or close password login flows; unnamed flows keep their state.
    Set {
        /// Org (id or name); may be left out when there is one.
        #[arg(long)]
        org: Option<String>,
        /// SOAP API login(): on or off.
        #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
        soap_login: Option<bool>,
        /// The OAuth username-password flow (password grant): on or off.
        #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
        oauth_username_password: Option<bool>,
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
