//! What a refused login most likely means, said once and plainly, the way the second
//! seed's help page says it: which of username, password or security token is the
//! likely cause, that the token changes with every password change, and where to get
//! a new one.

use chrono::{DateTime, Utc};

/// What the client knew when the org refused a login.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The org's login URL.
    pub login_url: &'a str,
    /// When these very settings last logged in successfully (they were verified when
    /// saved), or `None` for settings being entered now.
    pub worked_at: Option<DateTime<Utc>>,
    /// Whether a security token was given.
    pub had_token: bool,
    /// Whether the client connects by OAuth (a refresh token, no password).
    pub oauth: bool,
}

/// Where a person gets a new security token.
fn token_help(login_url: &str) -> String {
    format!(
        "The newest token is in the e-mail the org sent when the password last changed; or reset it: \
         open {}/ → My Settings → Reset My Security Token (it is mailed to you).",
        login_url.trim_end_matches('/')
    )
}

/// The likely cause of a refusal and what to do, for the org's `code`.
fn cause(code: &str, context: &Context<'_>) -> String {
    let url = context.login_url.trim_end_matches('/');
    if context.oauth {
        return format!(
            "The org no longer accepts this client's OAuth token: the access was revoked (in My Settings → \
             Connected Apps at {url}/, or by an administrator), or the user was frozen or deactivated. A \
             password change does not do this. Connect again with `latchkey client settings --oauth`."
        );
    }
    match code {
        "LOGIN_MUST_USE_SECURITY_TOKEN" => format!(
            "The password is right, but you are not on a trusted network, so the org also needs \
             the security token — and the one saved here is missing or out of date. Security \
             tokens change with every password change. {}",
            token_help(url)
        ),
        "PASSWORD_EXPIRED" | "INVALID_OPERATION_WITH_EXPIRED_PASSWORD" => format!(
            "The password has expired. Log in at {url}/ and choose a new one; the org then \
             e-mails a new security token (tokens change with every password change). Enter both here."
        ),
        "INVALID_LOGIN" | "invalid_grant" => match (context.worked_at, context.had_token) {
            (Some(at), _) => format!(
                "These settings worked on {}, so the username is not the likely cause: most likely \
                 the password was changed since — and a password change resets the security token \
                 too (tokens change with every password change). Enter the new password and the \
                 new token. {} (If nothing changed, the user may be locked out after too many \
                 failed logins: an administrator can unlock it.)",
                at.format("%Y-%m-%d %H:%M UTC"),
                token_help(url)
            ),
            (None, false) => format!(
                "The username or the password is wrong (no security token was given; had the \
                 password been right, the org would have asked for the token). Check both by \
                 logging in at {url}/."
            ),
            (None, true) => format!(
                "One of the username, the password or the security token is wrong. If the password \
                 changed recently, the token changed with it: tokens change with every password \
                 change. Check the username and password by logging in at {url}/. {}",
                token_help(url)
            ),
        },
        _ => format!(
            "The org refuses this user's logins for a reason only it or an administrator can \
             change; log in at {url}/ or ask your administrator."
        ),
    }
}

/// The message for a login the org refused just now.
pub fn rejected(code: &str, message: &str, context: &Context<'_>) -> String {
    format!(
        "The org refused the login ({code}: {message}).\n{}\nThis client will not send these \
         credentials again — so it cannot lock you out — until you change them with \
         `latchkey client settings`.",
        cause(code, context)
    )
}

/// The message for a login the org does not take this way (SOAP `login()` switched
/// off): the org checks no password, so the client remembers nothing; OAuth is the
/// way on.
pub fn unavailable(code: &str, message: &str) -> String {
    format!(
        "The org does not take logins this way ({code}: {message}).\nYour password was not checked, so \
         nothing counted against your account. Connect by OAuth instead: `latchkey client settings --oauth \
         --client-id <the org's public connected app>`, or ask the org's administrator to allow SOAP API login()."
    )
}

/// The message for a command that sends nothing because the org refused these very
/// credentials before.
pub fn refused(code: &str, at: DateTime<Utc>, context: &Context<'_>) -> String {
    format!(
        "Nothing was sent: the org refused these credentials on {} ({code}), and sending them \
         again could only lock you out.\n{}\nThen run `latchkey client settings`.",
        at.format("%Y-%m-%d %H:%M UTC"),
        cause(code, context)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_after_working_settings_points_at_the_password_and_token() {
        let context = Context {
            login_url: "https://org.example:8443/",
            worked_at: Some(DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("a time")),
            had_token: true,
            oauth: false,
        };
        let text = rejected("INVALID_LOGIN", "Invalid username, password, security token", &context);
        assert!(text.contains("the username is not the likely cause"));
        assert!(text.contains("tokens change with every password change"));
        assert!(text.contains("https://org.example:8443/ → My Settings → Reset My Security Token"));
        assert!(text.contains("will not send these credentials again"));
    }

    #[test]
    fn each_code_names_its_likely_cause() {
        let fresh = |had_token| Context {
            login_url: "http://o",
            worked_at: None,
            had_token,
            oauth: false,
        };
        assert!(cause("LOGIN_MUST_USE_SECURITY_TOKEN", &fresh(false)).contains("password is right"));
        assert!(cause("INVALID_LOGIN", &fresh(false)).contains("username or the password is wrong"));
        assert!(cause("INVALID_LOGIN", &fresh(true)).contains("username, the password or the security token"));
        assert!(cause("PASSWORD_EXPIRED", &fresh(true)).contains("has expired"));
        assert!(refused(
            "INVALID_LOGIN",
            DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("a time"),
            &fresh(true)
        )
        .starts_with("Nothing was sent"));
    }
}
