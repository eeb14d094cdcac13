//! `latchkey org …`: administration straight against the configured database.

use latchkey_core::network::IpRange;
use latchkey_core::records::{CustomField, CustomType, ObjectKind};
use latchkey_org::accounts::CreateUser;
use latchkey_org::Services;
use latchkey_store::apps::Switch;
use latchkey_store::login_history::Filter;
use secrecy::ExposeSecret;

use super::mail::deliver_now;
use super::{read_password_stdin, usage, Failure};
use crate::cli::{
    AppCommand, FieldCommand, LoginFlowsCommand, LoginRangesCommand, NetworkCommand, OrgCommand, PolicyCommand,
    ProfileCommand, TokenCommand, TrustedCommand, UserCommand,
};
use crate::config::Config;
use crate::output::{self, OrgView, PolicyView, ProfileView, UserView};
use crate::wiring;

fn parse_range(s: &str) -> Result<IpRange, Failure> {
    s.parse()
        .map_err(|e: latchkey_core::network::RangeError| usage(e.to_string()))
}

fn parse<T: std::str::FromStr>(value: &str) -> Result<T, Failure>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| usage(e.to_string()))
}

async fn show_user(services: &Services, username: &str, json: bool) -> Result<(), Failure> {
    let user = services.user(username).await?;
    let profile = services.profile_of(&user).await?;
    let view = UserView::new(&user, &profile.name, services.now());
    if json {
        output::json(&view)?;
    } else {
        view.print();
    }
    Ok(())
}

pub async fn run(cmd: OrgCommand, config: &Config) -> Result<(), Failure> {
    let services = wiring::services(config).await?;
    match cmd {
        OrgCommand::Create { name, json } => {
            let org = services.console().create_org(&name).await?;
            if json {
                output::json(&OrgView::new(&org))?;
            } else {
                println!("{}", org.id);
            }
        }
        OrgCommand::List { json } => {
            let orgs = services.console().orgs().await?;
            if json {
                output::json(&orgs.iter().map(OrgView::new).collect::<Vec<_>>())?;
            } else {
                for o in &orgs {
                    println!("{}  {}", o.id, o.name);
                }
            }
        }
        OrgCommand::User(cmd) => user(cmd, &services, config).await?,
        OrgCommand::App(cmd) => app(cmd, &services).await?,
        OrgCommand::Token(TokenCommand::Reset { username }) => {
            let user = services.console().reset_token(&username).await?;
            deliver_now(&services, config).await?;
            println!("new security token for {} sent to {}", user.username, user.email);
        }
        OrgCommand::Policy(cmd) => policy(cmd, &services).await?,
        OrgCommand::LoginFlows(cmd) => login_flows(cmd, &services).await?,
        OrgCommand::Network(NetworkCommand::Trusted(cmd)) => trusted(cmd, &services).await?,
        OrgCommand::Profile(cmd) => profile(cmd, &services).await?,
        OrgCommand::Field(cmd) => field(cmd, &services).await?,
        OrgCommand::Webhook(cmd) => super::webhooks::run(cmd, &services).await?,
        OrgCommand::LoginHistory { org, user, limit, json } => {
            login_history(&services, org.as_deref(), user.as_deref(), limit, json).await?
        }
    }
    Ok(())
}

/// `org app …`.
async fn app(cmd: AppCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        AppCommand::Create {
            name,
            run_as,
            callback,
            public,
            org,
            json,
        } => app_create(services, name, run_as, callback, public, org, json).await?,
        AppCommand::Authorize { name, user, org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let (app, token) = services.console().authorize_app(&org.id, &name, &user).await?;
            if json {
                output::json(&serde_json::json!({
                    "name": app.name, "client_id": app.client_id, "refresh_token": token.expose_secret(),
                }))?;
            } else {
                println!("refresh token: {}", token.expose_secret());
                eprintln!("the refresh token is shown only now; it is stored as a digest");
            }
        }
        AppCommand::Certificate { name, file, org } => {
            let pem =
                std::fs::read_to_string(&file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
            let org = services.resolve_org(org.as_deref()).await?;
            let app = services.console().set_app_jwt_key(&org.id, &name, &pem).await?;
            println!(
                "JWT bearer assertions of {} are now checked with {}",
                app.name,
                file.display()
            );
        }
        AppCommand::Policy {
            name,
            permitted_users,
            refresh_token,
            ip_relaxation,
            scopes,
            org,
        } => {
            let changes = PolicyChanges {
                permitted_users,
                refresh_token,
                ip_relaxation,
                scopes,
            };
            app_policy(services, org.as_deref(), &name, changes).await?
        }
        AppCommand::RefreshPolicy {
            name,
            survives_password_change,
            rotate,
            org,
        } => app_refresh_policy(services, name, survives_password_change, rotate, org).await?,
    }
    Ok(())
}

/// `org app create NAME …`.
async fn app_create(
    services: &Services,
    name: String,
    run_as: Option<String>,
    callback: Option<String>,
    public: bool,
    org: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let org = services.resolve_org(org.as_deref()).await?;
    let (mut app, secret) = services
        .console()
        .create_app(&org.id, &name, run_as.as_deref(), callback.as_deref())
        .await?;
    if public {
        app = services
            .console()
            .set_app_switch(&org.id, &name, Switch::PublicClient, true)
            .await?;
    }
    if json {
        output::json(&serde_json::json!({
            "name": app.name, "client_id": app.client_id, "client_secret": secret.expose_secret(),
        }))?;
    } else {
        println!("client id:     {}", app.client_id);
        println!("client secret: {}", secret.expose_secret());
        eprintln!("the client secret is shown only now; it is stored as a digest");
    }
    Ok(())
}

/// `org app refresh-policy NAME …`.
async fn app_refresh_policy(
    services: &Services,
    name: String,
    survives_password_change: Option<bool>,
    rotate: Option<bool>,
    org: Option<String>,
) -> Result<(), Failure> {
    if survives_password_change.is_none() && rotate.is_none() {
        return Err(usage("give --survives-password-change or --rotate (true or false)"));
    }
    let org = services.resolve_org(org.as_deref()).await?;
    let mut app = None;
    for (switch, on) in [
        (Switch::RefreshSurvivesPasswordChange, survives_password_change),
        (Switch::RotateRefreshTokens, rotate),
    ] {
        if let Some(on) = on {
            app = Some(services.console().set_app_switch(&org.id, &name, switch, on).await?);
        }
    }
    if let Some(app) = app {
        let survive = if app.refresh_survives_password_change {
            "survive"
        } else {
            "end at"
        };
        let rotate = if app.rotate_refresh_tokens {
            "rotate"
        } else {
            "do not rotate"
        };
        println!(
            "refresh tokens of {} now {survive} a password change and {rotate}",
            app.name
        );
    }
    Ok(())
}

/// What `org app policy` changes; `None` leaves a policy as it is.
struct PolicyChanges {
    permitted_users: Option<String>,
    refresh_token: Option<String>,
    ip_relaxation: Option<String>,
    scopes: Option<String>,
}

/// `org app policy NAME …`.
async fn app_policy(services: &Services, org: Option<&str>, name: &str, changes: PolicyChanges) -> Result<(), Failure> {
    let org = services.resolve_org(org).await?;
    let current = services
        .apps(&org.id)
        .await?
        .into_iter()
        .find(|a| a.name == *name)
        .ok_or_else(|| usage(format!("no connected app {name:?}")))?;
    let mut policies = current.policies();
    if let Some(p) = changes.permitted_users {
        policies.admin_approved_only = p == "admin-approved";
    }
    if let Some(r) = changes.refresh_token {
        policies.refresh_token_minutes = match r.as_str() {
            "until-revoked" => None,
            "immediately" => Some(0),
            minutes => Some(minutes.parse().map_err(|_| {
                usage(format!(
                    "--refresh-token {minutes:?}: give until-revoked, immediately or minutes"
                ))
            })?),
        };
    }
    if let Some(i) = changes.ip_relaxation {
        policies.relax_ip = i == "relax";
    }
    if let Some(s) = changes.scopes {
        policies.scopes = s;
    }
    let app = services.console().set_app_policies(&org.id, name, policies).await?;
    println!("{}", output::app_policies(&app));
    Ok(())
}

/// `org login-history`.
async fn login_history(
    services: &Services,
    org: Option<&str>,
    user: Option<&str>,
    limit: i64,
    json: bool,
) -> Result<(), Failure> {
    let org = services.resolve_org(org).await?;
    let user = match user {
        Some(u) => Some(services.user(u).await?),
        None => None,
    };
    let filter = Filter {
        org_id: Some(&org.id),
        user_id: user.as_ref().map(|u| &u.id),
        limit,
    };
    let rows = services.console().login_history(&filter).await?;
    if json {
        output::json(&rows)?;
    } else {
        for r in rows {
            println!(
                "{}  {:<32} {:<16} {:<18} {:<38} {}",
                r.login_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.username,
                r.source_ip,
                r.login_type,
                r.status,
                r.application
            );
        }
    }
    Ok(())
}

async fn field(cmd: FieldCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        FieldCommand::Add {
            object,
            name,
            field_type,
            label,
            length,
            required,
            external_id,
            unique,
            org,
        } => {
            let object = object.parse::<ObjectKind>().map_err(|e| usage(e.to_string()))?;
            let custom_type = field_type.parse::<CustomType>().map_err(usage)?;
            let label = label.unwrap_or_else(|| name.trim_end_matches("__c").replace('_', " "));
            let field = CustomField {
                object,
                name,
                label,
                custom_type,
                length: if custom_type.field_type().is_text() { length } else { 0 },
                required,
                external_id,
                unique,
            };
            let org = services.resolve_org(org.as_deref()).await?;
            services.console().add_custom_field(&org.id, &field).await?;
            println!("added {}.{} ({})", field.object, field.name, custom_type.name());
        }
        FieldCommand::List { org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let fields = services.custom_fields(&org.id).await?;
            if json {
                let list: Vec<_> = fields
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "object": f.object.name(), "name": f.name, "label": f.label,
                            "type": f.custom_type.name(), "length": f.length, "required": f.required,
                            "external_id": f.external_id, "unique": f.unique || f.external_id,
                        })
                    })
                    .collect();
                output::json(&list)?;
            } else {
                for f in &fields {
                    println!("{}.{}  {}  {}", f.object, f.name, f.custom_type.name(), f.label);
                }
            }
        }
    }
    Ok(())
}

async fn user(cmd: UserCommand, services: &Services, config: &Config) -> Result<(), Failure> {
    match cmd {
        UserCommand::Create {
            username,
            email,
            org,
            profile,
            first_name,
            last_name,
            password_stdin,
            json,
        } => {
            let req = CreateUser {
                org,
                username,
                email,
                first_name,
                last_name,
                profile: Some(profile),
                password: None,
                settings: Default::default(),
            };
            user_create(services, config, req, password_stdin, json).await?
        }
        UserCommand::Show { username, json } => show_user(services, &username, json).await?,
        UserCommand::List { org, json } => user_list(services, org, json).await?,
        UserCommand::SetPassword { username, .. } => {
            let password = read_password_stdin()?;
            let user = services.console().set_password(&username, &password).await?;
            deliver_now(services, config).await?;
            println!(
                "password set for {}; new security token sent to {}",
                user.username, user.email
            );
        }
        UserCommand::ResetPassword { username } => {
            let user = services.console().reset_password(&username).await?;
            deliver_now(services, config).await?;
            println!("temporary password and new security token sent to {}", user.email);
        }
        UserCommand::RevokeSessions { username } => {
            let n = services.console().revoke_sessions(&username).await?;
            println!("{n} session(s) ended");
        }
        UserCommand::Unlock { username } => {
            let was = services.console().unlock(&username).await?;
            deliver_now(services, config).await?;
            println!(
                "{}",
                if was {
                    "unlocked"
                } else {
                    "was not locked; failure count cleared"
                }
            );
        }
        UserCommand::Freeze { username } => {
            let changed = services.console().set_frozen(&username, true).await?;
            deliver_now(services, config).await?;
            println!("{}", if changed { "frozen" } else { "already frozen" });
        }
        UserCommand::Deactivate { username } => {
            let changed = services.console().set_active(&username, false).await?;
            println!("{}", if changed { "deactivated" } else { "already inactive" });
        }
        UserCommand::Activate { username } => {
            let changed = services.console().set_active(&username, true).await?;
            println!("{}", if changed { "activated" } else { "already active" });
        }
        UserCommand::Unfreeze { username } => {
            let changed = services.console().set_frozen(&username, false).await?;
            deliver_now(services, config).await?;
            println!("{}", if changed { "unfrozen" } else { "was not frozen" });
        }
    }
    Ok(())
}

/// `org user create USERNAME …`: the user, their security token mailed at once.
async fn user_create(
    services: &Services,
    config: &Config,
    mut req: CreateUser,
    password_stdin: bool,
    json: bool,
) -> Result<(), Failure> {
    if password_stdin {
        req.password = Some(read_password_stdin()?);
    }
    let user = services.console().create_user(req).await?;
    deliver_now(services, config).await?;
    if json {
        show_user(services, &user.username, true).await?;
    } else {
        println!("{}", user.id);
        eprintln!("security token sent to {}", user.email);
    }
    Ok(())
}

/// `org user list`.
async fn user_list(services: &Services, org: Option<String>, json: bool) -> Result<(), Failure> {
    let org = services.resolve_org(org.as_deref()).await?;
    let profiles = services.profiles(&org.id).await?;
    let now = services.now();
    let views: Vec<UserView> = services
        .console()
        .users(&org.id)
        .await?
        .iter()
        .map(|u| {
            let profile = profiles
                .iter()
                .find(|p| p.id == u.profile_id)
                .map_or("?", |p| p.name.as_str());
            UserView::new(u, profile, now)
        })
        .collect();
    if json {
        output::json(&views)?;
    } else {
        for v in &views {
            println!("{}", v.line());
        }
    }
    Ok(())
}

async fn login_flows(cmd: LoginFlowsCommand, services: &Services) -> Result<(), Failure> {
    let state = |open: bool| if open { "on" } else { "off" };
    match cmd {
        LoginFlowsCommand::Show { org, json } => {
            let flows = services.resolve_org(org.as_deref()).await?.login_flows;
            if json {
                output::json(&serde_json::json!({
                    "soap_login": flows.soap_login,
                    "oauth_username_password": flows.oauth_username_password,
                }))?;
            } else {
                println!("SOAP API login():                 {}", state(flows.soap_login));
                println!(
                    "OAuth username-password flow:     {}",
                    state(flows.oauth_username_password)
                );
            }
        }
        LoginFlowsCommand::Set {
            org,
            soap_login,
            oauth_username_password,
        } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let flows = latchkey_core::policy::LoginFlows {
                soap_login: soap_login.unwrap_or(org.login_flows.soap_login),
                oauth_username_password: oauth_username_password.unwrap_or(org.login_flows.oauth_username_password),
            };
            services.console().set_login_flows(&org.id, flows).await?;
        }
    }
    Ok(())
}

async fn policy(cmd: PolicyCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        PolicyCommand::Show { org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let view = PolicyView::new(&org.policy);
            if json {
                output::json(&view)?;
            } else {
                view.print();
            }
        }
        PolicyCommand::Set {
            org,
            password_expiry,
            max_invalid_attempts,
            lockout,
            lockout_scope,
            history,
            min_length,
            complexity,
        } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let mut p = org.policy;
            if let Some(v) = password_expiry {
                p.expiry = parse(&v)?;
            }
            if let Some(v) = max_invalid_attempts {
                p.max_invalid_attempts = parse(&v)?;
            }
            if let Some(v) = lockout {
                p.lockout = parse(&v)?;
            }
            if let Some(v) = lockout_scope {
                p.lockout_scope = parse(&v)?;
            }
            if let Some(v) = history {
                p.history = v
                    .parse()
                    .ok()
                    .filter(|h| *h <= 24)
                    .ok_or_else(|| usage(format!("password history must be 0 to 24, not {v:?}")))?;
            }
            if let Some(v) = min_length {
                p.min_length = v
                    .parse()
                    .ok()
                    .filter(|l| (5..=50).contains(l))
                    .ok_or_else(|| usage(format!("minimum password length must be 5 to 50, not {v:?}")))?;
            }
            if let Some(v) = complexity {
                p.complexity = parse(&v)?;
            }
            services.console().set_policy(&org.id, &p).await?;
            PolicyView::new(&p).print();
        }
    }
    Ok(())
}

async fn trusted(cmd: TrustedCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        TrustedCommand::Add { range, org } => {
            let range = parse_range(&range)?;
            let org = services.resolve_org(org.as_deref()).await?;
            services.console().add_trusted_range(&org.id, &range).await?;
            println!("trusted {range}");
        }
        TrustedCommand::Remove { range, org } => {
            let range = parse_range(&range)?;
            let org = services.resolve_org(org.as_deref()).await?;
            services.console().remove_trusted_range(&org.id, &range).await?;
            println!("no longer trusted: {range}");
        }
        TrustedCommand::List { org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let ranges: Vec<String> = services
                .trusted_ranges(&org.id)
                .await?
                .iter()
                .map(ToString::to_string)
                .collect();
            if json {
                output::json(&ranges)?;
            } else {
                for r in ranges {
                    println!("{r}");
                }
            }
        }
    }
    Ok(())
}

async fn profile(cmd: ProfileCommand, services: &Services) -> Result<(), Failure> {
    match cmd {
        ProfileCommand::LoginRanges(LoginRangesCommand::Set { profile, ranges, org }) => {
            let ranges = ranges.iter().map(|r| parse_range(r)).collect::<Result<Vec<_>, _>>()?;
            let org = services.resolve_org(org.as_deref()).await?;
            let p = services.console().set_login_ranges(&org.id, &profile, &ranges).await?;
            println!("{}", ProfileView::new(&p, &ranges).line());
        }
        ProfileCommand::LoginRanges(LoginRangesCommand::Clear { profile, org }) => {
            let org = services.resolve_org(org.as_deref()).await?;
            let p = services.console().set_login_ranges(&org.id, &profile, &[]).await?;
            println!("{}", ProfileView::new(&p, &[]).line());
        }
        ProfileCommand::List { org, json } => {
            let org = services.resolve_org(org.as_deref()).await?;
            let mut views = Vec::new();
            for p in services.profiles(&org.id).await? {
                let ranges = services.login_ranges(&p).await?;
                views.push(ProfileView::new(&p, &ranges));
            }
            if json {
                output::json(&views)?;
            } else {
                for v in &views {
                    println!("{}", v.line());
                }
            }
        }
    }
    Ok(())
}
