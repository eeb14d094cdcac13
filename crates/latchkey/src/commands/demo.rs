//! `latchkey demo`: a demo org with an administrator, a standard user, a connected app
//! and a few accounts and contacts on the embedded default, then the server. Safe to run again: the users are
//! kept, and the app's secret is rotated so that it can be printed.

use latchkey_core::records::ObjectKind;
use latchkey_org::accounts::CreateUser;
use latchkey_org::records::Caller;
use latchkey_org::{AccountError, Services};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map};

use super::mail::deliver_now;
use super::serve::serve;
use super::Failure;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::wiring;

const ORG: &str = "Latchkey Demo";
const APP: &str = "Demo Data Sync";
const USERS: [(&str, &str, &str, &str); 2] = [
    ("admin@demo.latchkey.test", "System Administrator", "Ada", "Admin"),
    ("user@demo.latchkey.test", "Standard User", "Sam", "User"),
];
/// Demo accounts with their contacts (first name, last name, e-mail, title).
type People = &'static [(&'static str, &'static str, &'static str, &'static str)];
const DEMO_RECORDS: [(&str, People); 2] = [
    (
        "Acme Corporation",
        &[
            ("Grace", "Hopper", "grace@acme.example", "CTO"),
            ("Alan", "Turing", "alan@acme.example", "Head of Research"),
        ],
    ),
    (
        "Globex",
        &[(
            "Katherine",
            "Johnson",
            "katherine@globex.example",
            "Director of Flight Research",
        )],
    ),
];

/// The demo password: known on purpose, printed, and only for the demo org.
const DEMO_PASSWORD: &str = "Demo-Passw0rd-2026";

/// Creates what is missing of the demo org; returns the app's client id and a fresh secret.
async fn seed(services: &Services, config: &Config) -> Result<(String, String, SecretString), Failure> {
    let org = match services.resolve_org(Some(ORG)).await {
        Ok(org) => org,
        Err(AccountError::NotFound(_)) => services.console().create_org(ORG).await?,
        Err(e) => return Err(e.into()),
    };
    for (username, profile, first, last) in USERS {
        match services.user(username).await {
            Ok(_) => {}
            Err(AccountError::NotFound(_)) => {
                services
                    .console()
                    .create_user(CreateUser {
                        org: Some(org.id.to_string()),
                        username: username.into(),
                        email: username.into(),
                        first_name: Some(first.into()),
                        last_name: Some(last.into()),
                        profile: Some(profile.into()),
                        password: Some(SecretString::from(DEMO_PASSWORD)),
                        settings: Default::default(),
                    })
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (app, secret) = match services.console().rotate_app_secret(&org.id, APP).await {
        Ok(found) => found,
        Err(AccountError::NotFound(_)) => {
            services
                .console()
                .create_app(&org.id, APP, Some(USERS[0].0), None)
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    seed_records(services, USERS[1].0).await?;
    deliver_now(services, config).await?;
    Ok((org.id.to_string(), app.client_id, secret))
}

/// A few accounts and contacts owned by `username`, the first time only.
async fn seed_records(services: &Services, username: &str) -> Result<(), Failure> {
    let user = services.user(username).await?;
    let caller = Caller {
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        api_enabled: true,
        admin: true,
        restricted: false,
    };
    let internal =
        |e: latchkey_org::records::RestError| Failure::Internal(anyhow::anyhow!("seeding demo records: {e}"));
    let existing = services
        .query(&caller, "SELECT COUNT() FROM Account", false, 2000)
        .await
        .map_err(internal)?;
    if existing.total > 0 {
        return Ok(());
    }
    for (company, people) in DEMO_RECORDS {
        let account = json!({ "Name": company, "Industry": "Technology" });
        let account_id = services
            .create_record(&caller, ObjectKind::Account, account.as_object().unwrap_or(&Map::new()))
            .await
            .map_err(internal)?;
        for (first, last, email, title) in people.iter() {
            let contact = json!({ "FirstName": first, "LastName": last, "Email": email, "Title": title, "AccountId": account_id });
            services
                .create_record(&caller, ObjectKind::Contact, contact.as_object().unwrap_or(&Map::new()))
                .await
                .map_err(internal)?;
        }
    }
    Ok(())
}

pub async fn run(args: &ServeArgs, config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    let (org_id, client_id, client_secret) = seed(&services, config).await?;
    let dir = config.data_dir.display();
    println!("Latchkey demo org {ORG} ({org_id}), data in {dir}");
    for (username, profile, _, _) in USERS {
        println!("  {profile:<22} {username}  password: {DEMO_PASSWORD}");
    }
    println!("  connected app \"{APP}\"  client id: {client_id}");
    println!(
        "                                client secret: {}",
        client_secret.expose_secret()
    );
    println!("Security tokens were e-mailed; read them with `latchkey --data-dir {dir} mail list` and `mail show ID`.");
    let tls = if args.plain_http {
        None
    } else {
        let files = crate::tls::demo_tls(&config.data_dir.join("tls"))?;
        let ca = std::fs::canonicalize(&files.ca).unwrap_or_else(|_| files.ca.clone());
        println!("CA certificate: {}", ca.display());
        println!("  (trust it: REQUESTS_CA_BUNDLE / NODE_EXTRA_CA_CERTS / curl --cacert)");
        Some((files.cert, files.key))
    };
    println!("Log in with SOAP at <URL>/services/Soap/u/59.0 or OAuth at <URL>/services/oauth2/token.");
    println!("Open <URL>/ in a browser for the web UI (the administrator also gets Setup); a first login");
    println!("  from a browser asks for a verification code, which arrives in the mail folder (`mail list`).");
    serve(services, args, config, tls).await
}
