//! The desktop client against a real `latchkey serve`: settings verified with one
//! login and kept sealed, vCards saved as Contacts, a password change explained with
//! exactly one failed login and no second one, a two-way folder sync, and the
//! settings prompt in a real terminal (tmux) showing that secrets are not echoed.

use std::path::Path;

use latchkey_sfclient::{Client, Credentials};
use secrecy::SecretString;
use serde_json::Value;

use crate::support::{failed_logins, values_after, wait_until, Cli, Run};

const USER: &str = "jane@acme.test";
const PASSWORD: &str = "violet-kettle-42";
const NEW_PASSWORD: &str = "amber-lantern-77";

/// An org with the test user; returns the org's CLI and the user's first token.
fn org_with_user() -> (Cli, String) {
    let org = Cli::new();
    org.ok(&["org", "create", "Acme"], None);
    org.ok(
        &[
            "org",
            "user",
            "create",
            USER,
            "--email",
            USER,
            "--first-name",
            "Jane",
            "--last-name",
            "Doe",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = latest_token(&org);
    (org, token)
}

fn latest_token(org: &Cli) -> String {
    values_after(&org.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("a token mail")
}

/// `latchkey client --dir DIR ARGS…` with a session bus that does not exist, so that
/// "auto" storage falls back to the sealed file deterministically.
fn client(cli: &Cli, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut all = vec!["client", "--dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    cli.run_with(
        &all,
        stdin,
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    )
}

fn settings(cli: &Cli, dir: &Path, url: &str, password: &str, token: &str) -> Run {
    client(
        cli,
        dir,
        &[
            "settings",
            "--login-url",
            url,
            "--username",
            USER,
            "--password-stdin",
            "--token-stdin",
        ],
        Some(&format!("{password}\n{token}\n")),
    )
}

/// Another API client of the org, logged in as the test user.
struct Api {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Api {
    fn new(url: &str, password: &str, token: &str) -> Self {
        let credentials = Credentials::Soap {
            username: USER.into(),
            password: SecretString::from(password.to_owned()),
            security_token: SecretString::from(token.to_owned()),
        };
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: Client::new(url, credentials, None).unwrap(),
        }
    }

    fn run<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }

    /// The org's Contacts as this client sees them.
    fn contacts(&self) -> Vec<Value> {
        self.run(self.client.query(
            "SELECT Id, FirstName, LastName, Email, Phone, MobilePhone, Title, Department, MailingCity, \
             MailingCountry, Description, OwnerId FROM Contact ORDER BY LastName",
        ))
        .unwrap()
    }
}

fn by_email<'a>(list: &'a [Value], email: &str) -> Vec<&'a Value> {
    list.iter().filter(|c| c["Email"] == email).collect()
}

const JANE_30: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Roe;Janet;;;\r\nFN:Janet Roe\r\n\
    ORG:Initech;Purchasing\r\nTITLE:Buyer\r\nTEL;TYPE=WORK,VOICE:+1 555 0100\r\nTEL;TYPE=CELL:+1 555 0199\r\n\
    ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA\r\nEMAIL;TYPE=INTERNET:janet.roe@initech.example\r\n\
    NOTE:Met at the fair\r\nEND:VCARD\r\n";

#[test]
fn saves_vcards_and_explains_a_password_change_with_exactly_one_failed_login() {
    let (org, token) = org_with_user();
    let server = org.serve();
    let url = server.url.as_str();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("client");

    // Settings: verified with one login, stored sealed beside a key, said plainly.
    let run = settings(&org, &dir, url, PASSWORD, &token);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Logged in as Jane Doe"), "{}", run.stdout);
    assert!(
        run.stdout.contains("No system keyring answered") && run.stdout.contains("secrets.sealed"),
        "{}",
        run.stdout
    );
    let sealed = std::fs::read(dir.join("secrets.sealed")).unwrap();
    let settings_file = std::fs::read_to_string(dir.join("settings.toml")).unwrap();
    for secret in [PASSWORD, token.as_str()] {
        assert!(!String::from_utf8_lossy(&sealed).contains(secret));
        assert!(!settings_file.contains(secret));
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    #[cfg(unix)]
    for name in ["secrets.sealed", "client.key", "settings.toml"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let status = client(&org, &dir, &["status"], None);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("Logged in as:    Jane Doe (jane@acme.test"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("Password:        expires "), "{}", status.stdout);
    assert!(status.stdout.contains("Security token:  entered "), "{}", status.stdout);

    let api = Api::new(url, PASSWORD, &token);

    // Save a 3.0 card: a new Contact with the card's fields, owned by the user.
    let card = home.path().join("janet.vcf");
    std::fs::write(&card, JANE_30).unwrap();
    let run = client(&org, &dir, &["contact", "save", card.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(":1: created 003"), "{}", run.stdout);
    let list = api.contacts();
    let janet = by_email(&list, "janet.roe@initech.example");
    assert_eq!(janet.len(), 1, "{list:?}");
    let j = janet[0];
    for (field, value) in [
        ("FirstName", "Janet"),
        ("LastName", "Roe"),
        ("Title", "Buyer"),
        ("Phone", "+1 555 0100"),
        ("MobilePhone", "+1 555 0199"),
        ("Department", "Purchasing"),
        ("MailingCity", "Springfield"),
        ("MailingCountry", "USA"),
        ("Description", "Met at the fair"),
    ] {
        assert_eq!(j[field], value, "{field}: {j}");
    }
    let janet_id = j["Id"].as_str().unwrap().to_owned();
    let me = j["OwnerId"].as_str().unwrap().to_owned();

    // Several cards in one file: the known e-mail updates, a new one creates, and a
    // malformed card is reported by line with nothing of it saved.
    let several = format!(
        "{}BEGIN:VCARD\nVERSION:4.0\nFN:Bob Sled\nEMAIL:bob@initech.example\nEND:VCARD\n\
         BEGIN:VCARD\nVERSION:4.0\nFN:Carl Broken\nEMAIL:carl@initech.example\nTEL;TYPE=cell +1 555\nEND:VCARD\n",
        JANE_30
            .replace("TITLE:Buyer", "TITLE:Head of Buying")
            .replace("janet.roe@initech", "JANET.ROE@initech")
    );
    std::fs::write(&card, several).unwrap();
    let run = client(&org, &dir, &["contact", "save", card.to_str().unwrap()], None);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(":1: updated {janet_id}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(":13: created 003"), "{}", run.stdout);
    assert!(
        run.stderr.contains("janet.vcf:22: not saved: not a vCard property"),
        "{}",
        run.stderr
    );
    let list = api.contacts();
    assert_eq!(
        by_email(&list, "JANET.ROE@initech.example")[0]["Title"],
        "Head of Buying"
    );
    assert_eq!(by_email(&list, "bob@initech.example").len(), 1);
    assert!(list.iter().all(|c| c["LastName"] != "Broken"), "{list:?}");
    assert!(list.iter().all(|c| c["OwnerId"] == me.as_str()));

    // The password changes on the org: the next command makes exactly one failed login
    // and explains the token; the one after sends nothing.
    assert_eq!(failed_logins(&org, USER), 0);
    org.ok(
        &["org", "user", "set-password", USER, "--password-stdin"],
        Some(&format!("{NEW_PASSWORD}\n")),
    );
    let new_token = latest_token(&org);
    assert_ne!(new_token, token);
    let run = client(&org, &dir, &["contact", "save", card.to_str().unwrap()], None);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    for words in [
        "INVALID_LOGIN",
        "the password was changed since",
        "tokens change with every password change",
        "My Settings → Reset My Security Token",
        "will not send these credentials again",
    ] {
        assert!(run.stderr.contains(words), "{words:?} in {}", run.stderr);
    }
    assert_eq!(failed_logins(&org, USER), 1);
    for args in [
        &["status"][..],
        &["contact", "sync", home.path().join("folder").to_str().unwrap()][..],
    ] {
        let again = client(&org, &dir, args, None);
        assert_eq!(again.code, 3, "{}{}", again.stdout, again.stderr);
        assert!(again.stderr.starts_with("Nothing was sent"), "{}", again.stderr);
    }
    assert_eq!(
        failed_logins(&org, USER),
        1,
        "no second attempt with the rejected secrets"
    );
    // Typing the same old secrets again is refused without a login too.
    let same = settings(&org, &dir, url, PASSWORD, &token);
    assert_eq!(same.code, 3, "{}", same.stderr);
    assert_eq!(failed_logins(&org, USER), 1);

    // New settings: the client works again.
    let run = settings(&org, &dir, url, NEW_PASSWORD, &new_token);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let status = client(&org, &dir, &["status"], None);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(failed_logins(&org, USER), 1);
    let transcript = org.transcript.borrow().clone();
    for secret in [PASSWORD, NEW_PASSWORD, token.as_str(), new_token.as_str()] {
        assert!(!transcript.contains(secret), "a secret was printed");
    }
}

fn write_card(folder: &Path, name: &str, text: &str) {
    std::fs::write(folder.join(name), text).unwrap();
}

#[test]
fn syncs_a_folder_of_vcards_both_ways_incrementally() {
    let (org, token) = org_with_user();
    let server = org.serve();
    let url = server.url.clone();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("client");
    let folder = home.path().join("Contacts");
    assert_eq!(settings(&org, &dir, &url, PASSWORD, &token).code, 0);
    let sync = || {
        let run = client(&org, &dir, &["contact", "sync", folder.to_str().unwrap()], None);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        run.stdout
    };
    let api = Api::new(&url, PASSWORD, &token);

    // One contact in the org, one file here.
    let olga = serde_json::json!({"FirstName": "Olga", "LastName": "Org", "Email": "olga@acme.test", "Title": "CFO"});
    api.run(api.client.create("Contact", &olga)).unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    write_card(
        &folder,
        "lena.vcf",
        "BEGIN:VCARD\nVERSION:4.0\nFN:Lena Local\nN:Local;Lena;;;\nEMAIL:lena@acme.test\nBDAY:19800101\nEND:VCARD\n",
    );
    let out = sync();
    assert!(
        out.contains("From the org: 1 new, 0 changed, 0 removed. To the org: 1 new, 0 changed, 0 deleted."),
        "{out}"
    );
    let olga = std::fs::read_to_string(folder.join("olga-org.vcf")).unwrap();
    assert!(olga.contains("olga@acme.test") && olga.contains("TITLE:CFO"), "{olga}");
    let list = api.contacts();
    assert_eq!(by_email(&list, "lena@acme.test").len(), 1, "{list:?}");

    // Nothing changed: nothing moves (and our own push is not pulled back as a change).
    let out = sync();
    assert!(
        out.contains("From the org: 0 new, 0 changed, 0 removed. To the org: 0 new, 0 changed, 0 deleted."),
        "{out}"
    );

    // A change on each side travels; the file keeps what the Contact does not hold.
    let olga_id = by_email(&list, "olga@acme.test")[0]["Id"].as_str().unwrap().to_owned();
    api.run(
        api.client
            .update("Contact", &olga_id, &serde_json::json!({"Title": "CEO"})),
    )
    .unwrap();
    let lena = std::fs::read_to_string(folder.join("lena.vcf")).unwrap();
    write_card(
        &folder,
        "lena.vcf",
        &lena.replace("END:VCARD", "TEL;TYPE=cell:+44 20 7946 0000\nEND:VCARD"),
    );
    let out = sync();
    assert!(
        out.contains("From the org: 0 new, 1 changed, 0 removed. To the org: 0 new, 1 changed, 0 deleted."),
        "{out}"
    );
    assert!(std::fs::read_to_string(folder.join("olga-org.vcf"))
        .unwrap()
        .contains("TITLE:CEO"));
    let list = api.contacts();
    assert_eq!(by_email(&list, "lena@acme.test")[0]["MobilePhone"], "+44 20 7946 0000");
    assert!(std::fs::read_to_string(folder.join("lena.vcf"))
        .unwrap()
        .contains("BDAY"));

    // A deleted file deletes its contact; a contact deleted in the org leaves the folder.
    std::fs::remove_file(folder.join("lena.vcf")).unwrap();
    api.run(api.client.delete("Contact", &olga_id)).unwrap();
    let out = sync();
    assert!(
        out.contains("From the org: 0 new, 0 changed, 1 removed. To the org: 0 new, 0 changed, 1 deleted."),
        "{out}"
    );
    assert!(!folder.join("olga-org.vcf").exists());
    assert_eq!(api.contacts(), Vec::<Value>::new());
}

/// A tmux server of its own (socket in `dir`), for one interactive program.
struct Terminal {
    socket: std::path::PathBuf,
}

impl Terminal {
    fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (Debian package tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn start(dir: &Path, command: &str) -> Self {
        let terminal = Self {
            socket: dir.join("tmux.sock"),
        };
        terminal.tmux(&["new-session", "-d", "-s", "t", "-x", "220", "-y", "50", command]);
        terminal
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t", "-S", "-100"])
    }

    fn wait_for(&self, text: &str) {
        wait_until(&format!("{text:?} on the terminal"), 30, || {
            self.screen().contains(text)
        });
    }

    /// Types `text` and Enter.
    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
        self.tmux(&["send-keys", "-t", "t", "Enter"]);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn the_settings_prompt_does_not_echo_secrets() {
    let (org, token) = org_with_user();
    let server = org.serve();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("client");
    let command = format!(
        "env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus {} client --dir {} settings --login-url {}; \
         echo EXIT=$?; sleep 120",
        env!("CARGO_BIN_EXE_latchkey"),
        dir.display(),
        server.url
    );
    let terminal = Terminal::start(home.path(), &command);
    terminal.wait_for("Username:");
    terminal.type_line(USER);
    terminal.wait_for("Password:");
    terminal.type_line(PASSWORD);
    terminal.wait_for("Security token");
    terminal.type_line(&token);
    terminal.wait_for("EXIT=");
    let screen = terminal.screen();
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains(&format!("Username: {USER}")),
        "the username is echoed: {screen}"
    );
    assert!(screen.contains("Logged in as Jane Doe"), "{screen}");
    assert!(!screen.contains(PASSWORD), "the password was echoed: {screen}");
    assert!(!screen.contains(&token), "the token was echoed: {screen}");
    assert!(dir.join("settings.toml").exists());
}

#[test]
fn keeps_the_secrets_in_the_system_keyring_when_one_answers() {
    // A real Secret Service: GNOME Keyring (Debian package gnome-keyring, which
    // scripts/test installs) on a private D-Bus session bus.
    let (org, token) = org_with_user();
    let server = org.serve();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("client");
    let bin = env!("CARGO_BIN_EXE_latchkey");
    let script = format!(
        "printf 'keyring-unlock' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n\
         {bin} client --dir {dir} settings --login-url {url} --username {USER} --password-stdin --token-stdin <<'IN'\n\
         {PASSWORD}\n{token}\nIN\n\
         echo SETTINGS=$?\n\
         {bin} client --dir {dir} status\n\
         echo STATUS=$?\n",
        dir = dir.display(),
        url = server.url,
    );
    let out = std::process::Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path())
        .output()
        .expect("dbus-run-session runs (Debian package dbus)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("SETTINGS=0") && stdout.contains("STATUS=0"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("are in the system keyring (service \"latchkey-client\""),
        "{stdout}"
    );
    assert!(stdout.contains("Secrets:         in the system keyring"), "{stdout}");
    assert!(stdout.contains("Logged in as:    Jane Doe"), "{stdout}");
    assert!(!dir.join("secrets.sealed").exists());
    assert!(std::fs::read_to_string(dir.join("settings.toml"))
        .unwrap()
        .contains("storage = \"keyring\""));
    for secret in [PASSWORD, token.as_str()] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}

/// `latchkey client settings --oauth`: the loopback flow (RFC 8252) against a public
/// app — the printed address in a real Chromium, login, consent, the answer on the
/// client's own port — then the client works through an administrator's password
/// reset with no failed login and nothing to re-enter.
#[test]
fn connects_by_oauth_loopback_and_outlives_a_password_reset() {
    use std::io::BufRead;
    let (org, _) = org_with_user();
    org.ok(&["org", "network", "trusted", "add", "127.0.0.0/8"], None);
    let app: Value = serde_json::from_str(&org.ok(
        &[
            "org",
            "app",
            "create",
            "--name",
            "Desktop",
            "--callback",
            "http://127.0.0.1/callback",
            "--public",
            "--json",
        ],
        None,
    ))
    .unwrap();
    let client_id = app["client_id"].as_str().unwrap();
    let server = org.serve();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("client");
    let args = [
        "client",
        "--dir",
        dir.to_str().unwrap(),
        "settings",
        "--oauth",
        "--login-url",
        server.url.as_str(),
        "--client-id",
        client_id,
        "--no-browser",
    ];
    let mut child = org.spawn(&args, &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")]);
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let address = loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the client ended before printing the address"
        );
        if line.contains("/services/oauth2/authorize?") {
            break line.trim().to_owned();
        }
    };
    assert!(address.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"), "{address}");
    let mut browser = crate::support::Browser::start("client-oauth");
    browser.goto(&address);
    browser.fill("#username", USER);
    browser.fill("#password", PASSWORD);
    assert!(browser.click("#Login").starts_with("/services/oauth2/authorize?"));
    assert_eq!(browser.text("#app-name").as_deref(), Some("Desktop"));
    assert!(browser.click("#oaapprove").starts_with("/callback?code="));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("Logged in as Jane Doe (jane@acme.test)"), "{rest}");

    let run = client(&org, &dir, &["status"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Connected by:    OAuth"), "{}", run.stdout);
    let settings_file = std::fs::read_to_string(dir.join("settings.toml")).unwrap();
    assert!(
        settings_file.contains("username = \"jane@acme.test\""),
        "{settings_file}"
    );

    org.ok(&["org", "user", "reset-password", USER], None);
    let card = home.path().join("card.vcf");
    std::fs::write(
        &card,
        "BEGIN:VCARD\nVERSION:4.0\nFN:Olga After\nEMAIL:olga@acme.test\nEND:VCARD\n",
    )
    .unwrap();
    let run = client(&org, &dir, &["contact", "save", card.to_str().unwrap()], None);
    assert_eq!(
        run.code, 0,
        "a reset does not touch an OAuth client: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(failed_logins(&org, USER), 0);
}
