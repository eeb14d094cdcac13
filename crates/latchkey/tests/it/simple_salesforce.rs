//! The real `simple-salesforce` package (PyPI) against `latchkey serve`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{values_after, Cli};

const PASSWORD: &str = "violet-kettle-42";
const USER: &str = "jane@acme.test";

fn simple_salesforce(mode: &str, url: &str, stdin: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/interop/simple_salesforce_login.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([mode, url, USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test installs simple-salesforce)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|_| {
        panic!(
            "simple-salesforce printed {stdout:?}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn simple_salesforce_logs_in_by_soap_and_oauth() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .unwrap();
    let server = cli.serve();
    let url = server.url.as_str();
    let host = url.trim_start_matches("http://");

    let ok = simple_salesforce("soap", url, &format!("{PASSWORD}\n{token}\n"));
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["instance"], host, "sf_instance is host:port");
    assert_eq!(ok["has_session"], true);

    let no_token = simple_salesforce("soap", url, &format!("{PASSWORD}\n\n"));
    assert_eq!(no_token["code"], "LOGIN_MUST_USE_SECURITY_TOKEN", "{no_token}");
    let wrong = simple_salesforce("soap", url, &format!("nope\n{token}\n"));
    assert_eq!(wrong["code"], "INVALID_LOGIN", "{wrong}");
    assert_eq!(
        wrong["message"],
        "Invalid username, password, security token; or user locked out."
    );

    let app: Value =
        serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "Add-in", "--json"], None)).unwrap();
    let (key, secret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );
    let oauth = simple_salesforce("oauth", url, &format!("{PASSWORD}{token}\n{key}\n{secret}\n"));
    assert_eq!(oauth["ok"], true, "{oauth}");
    assert_eq!(oauth["instance"], host);
    let refused = simple_salesforce("oauth", url, &format!("{PASSWORD}\n{key}\n{secret}\n"));
    assert_eq!(
        (refused["code"].as_str(), refused["message"].as_str()),
        (Some("invalid_grant"), Some("authentication failure")),
        "{refused}"
    );
}
