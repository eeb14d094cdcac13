//! The real Salesforce CLI (npm `@salesforce/cli`, `tools/sfcli`, on the Node.js 22 of
//! npm's `node` package) against the demo's TLS listener: it logs in with an access
//! token and runs the data, schema and limits commands, each checked on its `--json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use latchkey_sfclient::login::{login, Credentials};
use serde_json::Value;

use crate::support::{values_after, Cli};

const ADMIN: &str = "admin@demo.latchkey.test";

/// The CLI, with its own home (where it keeps its auth files) and the demo CA.
struct Sf {
    home: tempfile::TempDir,
    ca: String,
}

impl Sf {
    fn bin_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/sfcli/node_modules/.bin")
    }

    /// Runs `sf args… --json` (with `SF_ACCESS_TOKEN` when given); its JSON output.
    fn run(&self, args: &[&str], access_token: Option<&str>) -> Value {
        let bin = Self::bin_dir();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new(bin.join("sf"));
        cmd.args(args)
            .arg("--json")
            .current_dir(self.home.path())
            .env("PATH", path)
            .env("HOME", self.home.path())
            .env("NODE_EXTRA_CA_CERTS", &self.ca)
            .env("SF_DISABLE_TELEMETRY", "true")
            .env("SF_AUTOUPDATE_DISABLE", "true")
            .env("SF_USE_GENERIC_UNIX_KEYCHAIN", "true");
        if let Some(t) = access_token {
            cmd.env("SF_ACCESS_TOKEN", t);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("sf (scripts/test installs tools/sfcli): {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!(
                "sf {args:?} printed {stdout:?}; stderr {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// `sf args… --target-org ADMIN --json`, which must succeed; its `result`.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--target-org", ADMIN]);
        let out = self.run(&all, None);
        assert_eq!(out["status"], 0, "sf {args:?}: {out}");
        out["result"].clone()
    }
}

#[test]
fn the_salesforce_cli_logs_in_by_access_token_and_works_with_records() {
    let cli = Cli::new();
    let demo = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    let ca = demo.ca.clone().expect("the demo prints its CA");
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .into_iter()
        .next()
        .expect("the administrator's token mail");
    let session = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pem = std::fs::read(&ca).unwrap();
        let http = latchkey_sfclient::http_client(Some(&pem)).unwrap();
        let credentials = Credentials::Soap {
            username: ADMIN.into(),
            password: "Demo-Passw0rd-2026".to_owned().into(),
            security_token: token.into(),
        };
        login(&http, &demo.url, &credentials).await.expect("SOAP login")
    });
    let sf = Sf {
        home: tempfile::tempdir().unwrap(),
        ca,
    };
    use secrecy::ExposeSecret;
    let logged_in = sf.run(
        &[
            "org",
            "login",
            "access-token",
            "--instance-url",
            &demo.url,
            "--no-prompt",
        ],
        Some(session.access_token.expose_secret()),
    );
    assert_eq!(logged_in["status"], 0, "{logged_in}");
    assert_eq!(logged_in["result"]["username"], ADMIN, "it reads sobjects/User/{{id}}");
    assert!(logged_in["result"]["orgId"].as_str().unwrap().starts_with("00D"));
    assert_eq!(sf.ok(&["org", "display"])["connectedStatus"], "Connected");

    let created = sf.ok(&[
        "data",
        "create",
        "record",
        "-s",
        "Contact",
        "-v",
        "LastName=Lovelace FirstName=Ada",
    ]);
    assert_eq!(created["success"], true, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sf.ok(&["data", "get", "record", "-s", "Contact", "-i", &id])["Name"],
        "Ada Lovelace"
    );
    let updated = sf.ok(&[
        "data",
        "update",
        "record",
        "-s",
        "Contact",
        "-i",
        &id,
        "-v",
        "Title=Countess",
    ]);
    assert_eq!(updated["success"], true);
    let soql = format!("SELECT Id, Title, Owner.Username FROM Contact WHERE Id = '{id}'");
    let rows = sf.ok(&["data", "query", "-q", &soql]);
    assert_eq!(
        (&rows["records"][0]["Title"], &rows["records"][0]["Owner"]["Username"]),
        (&Value::from("Countess"), &Value::from(ADMIN)),
        "data query reads columns=true first: {rows}"
    );

    let objects = sf.ok(&["sobject", "list"]);
    for name in ["Contact", "Opportunity", "User", "LoginHistory"] {
        assert!(
            objects.as_array().unwrap().contains(&Value::from(name)),
            "{name}: {objects}"
        );
    }
    assert_eq!(sf.ok(&["sobject", "describe", "-s", "User"])["name"], "User");
    let limits = sf.ok(&["org", "list", "limits"]);
    assert!(
        limits
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "DailyApiRequests"),
        "{limits}"
    );
    let total = sf.ok(&["data", "query", "-q", "SELECT COUNT() FROM Contact"])["totalSize"].clone();
    let counts = sf.ok(&["org", "list", "sobject", "record-counts", "-s", "Contact"]);
    assert_eq!(counts[0]["count"], total, "{counts}");
    // `data export bulk` runs a Bulk API 2.0 query job and writes its results.
    let file = sf.home.path().join("contacts.csv");
    let exported = sf.ok(&[
        "data",
        "export",
        "bulk",
        "--query",
        "SELECT Id, LastName, Title FROM Contact",
        "--output-file",
        file.to_str().unwrap(),
        "--result-format",
        "csv",
        "--wait",
        "5",
    ]);
    assert_eq!(exported["totalSize"], total, "{exported}");
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(csv.lines().next(), Some(r#""Id","LastName","Title""#), "{csv}");
    assert_eq!(csv.lines().count() as u64, total.as_u64().unwrap() + 1, "{csv}");
    assert!(csv.contains(&format!(r#""{id}","Lovelace","Countess""#)), "{csv}");
    // `data import tree` sends sObject trees: accounts with their contacts.
    let tree = sf.home.path().join("accounts.json");
    std::fs::write(
        &tree,
        serde_json::json!({"records": [
            {"attributes": {"type": "Account", "referenceId": "AccRef1"}, "Name": "Tree Works",
             "Contacts": {"records": [
                 {"attributes": {"type": "Contact", "referenceId": "ConRef1"}, "LastName": "Leaf", "Email": "leaf@tree.test"}
             ]}}
        ]})
        .to_string(),
    )
    .unwrap();
    let planted = sf.ok(&["data", "import", "tree", "--files", tree.to_str().unwrap()]);
    let refs: Vec<&str> = planted
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["refId"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(refs, ["AccRef1", "ConRef1"], "{planted}");
    let leaf = sf.ok(&[
        "data",
        "query",
        "-q",
        "SELECT Account.Name FROM Contact WHERE Email = 'leaf@tree.test'",
    ]);
    assert_eq!(leaf["records"][0]["Account"]["Name"], "Tree Works", "{leaf}");

    // `data import bulk` runs a Bulk API 2.0 ingest job; a bad row fails alone.
    let import = sf.home.path().join("import.csv");
    let mut rows = String::from("LastName,Email\n");
    for i in 0..500 {
        rows.push_str(&format!("Imported {i},imported{i}@example.org\n"));
    }
    rows.push_str(",nobody@example.org\n");
    std::fs::write(&import, rows).unwrap();
    let imported = sf.run(
        &[
            "data",
            "import",
            "bulk",
            "--file",
            import.to_str().unwrap(),
            "--sobject",
            "Contact",
            "--wait",
            "5",
            "--target-org",
            ADMIN,
        ],
        None,
    );
    assert_eq!(
        (&imported["name"], &imported["data"]["state"]),
        (&Value::from("FailedRecordDetailsError"), &Value::from("JobComplete")),
        "the job completes, one record failed: {imported}"
    );
    let job = imported["data"]["jobId"].as_str().unwrap();
    let results = sf.run(
        &["data", "bulk", "results", "--job-id", job, "--target-org", ADMIN],
        None,
    );
    assert_eq!(
        (
            &results["result"]["processedRecords"],
            &results["result"]["successfulRecords"],
            &results["result"]["failedRecords"]
        ),
        (&Value::from(501), &Value::from(500), &Value::from(1)),
        "{results}"
    );
    let failed_file = sf
        .home
        .path()
        .join(results["result"]["failedFilePath"].as_str().unwrap());
    let failed = std::fs::read_to_string(failed_file).unwrap();
    assert!(
        failed.contains("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"),
        "{failed}"
    );
    let counted = sf.ok(&[
        "data",
        "query",
        "-q",
        "SELECT COUNT() FROM Contact WHERE Email LIKE 'imported%'",
    ]);
    assert_eq!(counted["totalSize"], 500, "{imported}");
    let org = sf.ok(&[
        "api",
        "request",
        "rest",
        "/services/data/v66.0/query?q=SELECT+IsSandbox+FROM+Organization",
    ]);
    assert_eq!(org["body"]["records"][0]["IsSandbox"], false, "{org}");

    assert_eq!(
        sf.ok(&["data", "delete", "record", "-s", "Contact", "-i", &id])["success"],
        true
    );
    let gone = sf.run(
        &[
            "data",
            "get",
            "record",
            "-s",
            "Contact",
            "-i",
            &id,
            "--target-org",
            ADMIN,
        ],
        None,
    );
    assert_eq!(
        (&gone["status"], &gone["name"]),
        (&Value::from(1), &Value::from("ENTITY_IS_DELETED")),
        "{gone}"
    );
}

#[test]
fn the_salesforce_cli_logs_in_by_jwt_and_by_sfdx_url() {
    let cli = Cli::new();
    let demo = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    let sf = Sf {
        home: tempfile::tempdir().unwrap(),
        ca: demo.ca.clone().expect("the demo prints its CA"),
    };
    let user = "user@demo.latchkey.test";
    let app: Value = serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "CLI", "--json"], None)).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../org/tests/fixtures");
    let crt = fixtures.join("jwt_app.crt");
    cli.ok(
        &[
            "org",
            "app",
            "certificate",
            "--name",
            "CLI",
            "--file",
            crt.to_str().unwrap(),
        ],
        None,
    );
    let client_id = app["client_id"].as_str().unwrap();
    let key = fixtures.join("jwt_app.key");
    let jwt_args = [
        "org",
        "login",
        "jwt",
        "--client-id",
        client_id,
        "--jwt-key-file",
        key.to_str().unwrap(),
        "--username",
        user,
        "--instance-url",
        &demo.url,
    ];
    let refused = sf.run(&jwt_args, None);
    assert_eq!(refused["status"], 1);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("user hasn't approved this consumer"),
        "Salesforce's words before the user is authorised: {refused}"
    );
    let authorized: Value = serde_json::from_str(&cli.ok(
        &["org", "app", "authorize", "--name", "CLI", "--user", user, "--json"],
        None,
    ))
    .unwrap();
    let jwt = sf.run(&jwt_args, None);
    assert_eq!(
        (&jwt["status"], &jwt["result"]["username"]),
        (&Value::from(0), &Value::from(user)),
        "{jwt}"
    );

    let host = demo.url.trim_start_matches("https://");
    let url_file = sf.home.path().join("auth-url.txt");
    std::fs::write(
        &url_file,
        format!(
            "force://{client_id}:{}:{}@{host}",
            app["client_secret"].as_str().unwrap(),
            authorized["refresh_token"].as_str().unwrap()
        ),
    )
    .unwrap();
    let by_url = sf.run(
        &[
            "org",
            "login",
            "sfdx-url",
            "-f",
            url_file.to_str().unwrap(),
            "-a",
            "by-url",
        ],
        None,
    );
    assert_eq!(by_url["status"], 0, "{by_url}");
    assert_eq!(by_url["result"]["username"], user);
    let whoami = sf.run(
        &[
            "data",
            "query",
            "-q",
            "SELECT Username FROM User WHERE Username = 'user@demo.latchkey.test'",
            "--target-org",
            "by-url",
        ],
        None,
    );
    assert_eq!(whoami["result"]["totalSize"], 1, "{whoami}");
}
