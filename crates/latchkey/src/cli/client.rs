//! `latchkey client …`: one user's desktop client.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
