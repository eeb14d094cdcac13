//! `latchkey demo`: a demo org with an administrator and a standard user on the
//! embedded default, and how to use them. Safe to run again.

use latchkey_org::accounts::CreateUser;
use latchkey_org::AccountError;
use secrecy::SecretString;

use super::mail::deliver_now;
use super::Failure;
use crate::config::Config;
use crate::wiring;

const ORG: &str = "Latchkey Demo";
const USERS: [(&str, &str, &str, &str); 2] = [
    ("admin@demo.latchkey.test", "System Administrator", "Ada", "Admin"),
    ("user@demo.latchkey.test", "Standard User", "Sam", "User"),
];
/// The demo password: known on purpose, printed, and only for the demo org.
const DEMO_PASSWORD: &str = "Demo-Passw0rd-2026";

pub async fn run(config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    let org = match services.resolve_org(Some(ORG)).await {
        Ok(org) => org,
        Err(AccountError::NotFound(_)) => services.create_org(ORG).await?,
        Err(e) => return Err(e.into()),
    };
    for (username, profile, first, last) in USERS {
        match services.user(username).await {
            Ok(_) => {}
            Err(AccountError::NotFound(_)) => {
                services
                    .create_user(CreateUser {
                        org: Some(org.id.to_string()),
                        username: username.into(),
                        email: username.into(),
                        first_name: Some(first.into()),
                        last_name: Some(last.into()),
                        profile: Some(profile.into()),
                        password: Some(SecretString::from(DEMO_PASSWORD)),
                    })
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    deliver_now(&services, config).await?;
    println!("Latchkey demo org {} ({})", org.name, org.id);
    println!("data directory:  {}", config.data_dir.display());
    for (username, profile, _, _) in USERS {
        println!("{profile:<22} {username}  password: {DEMO_PASSWORD}");
    }
    println!();
    println!("Security tokens were e-mailed to the users; read them with:");
    println!("  latchkey --data-dir {} mail list", config.data_dir.display());
    println!("Try the admin tools, for example:");
    println!("  latchkey --data-dir {} org user list", config.data_dir.display());
    println!("  latchkey --data-dir {} org policy show", config.data_dir.display());
    println!("The HTTP listeners (SOAP login, OAuth, REST, web UI) arrive with `latchkey serve` (issue 3).");
    Ok(())
}
