//! The messages Latchkey sends. Each is a plain-text body with an HTML alternative;
//! values are HTML-escaped in the HTML part.

use chrono::{DateTime, Utc};

use super::MailIdentity;

/// A rendered message.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

fn html(paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!("<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n{body}</body></html>\n")
}

/// "Your new security token": sent on user creation, password change or reset, and
/// on a requested token reset.
pub fn security_token(id: &MailIdentity, to: &str, username: &str, token: &str, reason: &str) -> Rendered {
    let product = &id.product;
    Rendered {
        to: to.into(),
        subject: format!("Your new {product} security token"),
        text: format!(
            "{reason}\n\nUsername: {username}\nSecurity token (case-sensitive): {token}\n\n\
             Append the token to your password when an API client or desktop add-in logs in \
             from outside your company's trusted networks: for password \"mypassword\" send \
             \"mypassword{token}\".\n\nYour previous security token no longer works. Update every \
             integration that uses it.\n"
        ),
        html: html(&[
            escape(reason),
            format!("Username: <b>{}</b><br>Security token (case-sensitive): <code>{}</code>", escape(username), escape(token)),
            "Append the token to your password when an API client or desktop add-in logs in from outside your company's trusted networks.".into(),
            "Your previous security token no longer works. Update every integration that uses it.".into(),
        ]),
    }
}

/// "Verify your identity": the code a browser login from an untrusted network needs.
pub fn verification_code(id: &MailIdentity, to: &str, username: &str, code: &str, minutes: i64) -> Rendered {
    let product = &id.product;
    Rendered {
        to: to.into(),
        subject: format!("Verify your identity in {product}"),
        text: format!(
            "You are logging in to {product} as {username} from a browser or network we don't recognize.\n\n\
             Verification code: {code}\n\nThe code expires in {minutes} minutes. If you did not try to log in, \
             change your password and tell {}.\n",
            id.admin_contact
        ),
        html: html(&[
            format!(
                "You are logging in to {} as <b>{}</b> from a browser or network we don't recognize.",
                escape(product),
                escape(username)
            ),
            format!("Verification code: <b style=\"font-size:1.4em;letter-spacing:.2em\">{}</b>", escape(code)),
            format!(
                "The code expires in {minutes} minutes. If you did not try to log in, change your password and tell {}.",
                escape(&id.admin_contact)
            ),
        ]),
    }
}

/// "Reset your password": the one-time link of "Forgot Your Password?".
pub fn password_reset_link(id: &MailIdentity, to: &str, username: &str, link: &str, minutes: i64) -> Rendered {
    let product = &id.product;
    Rendered {
        to: to.into(),
        subject: format!("Reset your {product} password"),
        text: format!(
            "Someone asked to reset the {product} password of {username}. To choose a new password, open:\n\n\
             {link}\n\nThe link works once and expires in {minutes} minutes. Your security token will be reset \
             too. If you did not ask for this, ignore this message: your password stays as it is.\n"
        ),
        html: html(&[
            format!(
                "Someone asked to reset the {} password of <b>{}</b>.",
                escape(product),
                escape(username)
            ),
            format!(
                "<a href=\"{0}\">Choose a new password</a><br><small>{0}</small>",
                escape(link)
            ),
            format!(
                "The link works once and expires in {minutes} minutes. Your security token will be reset too. \
                 If you did not ask for this, ignore this message: your password stays as it is."
            ),
        ]),
    }
}

/// "Your password expires in N days" (sent 7 days and 1 day before).
pub fn password_expiring(
    id: &MailIdentity,
    to: &str,
    username: &str,
    days: i64,
    expires_at: DateTime<Utc>,
) -> Rendered {
    let product = &id.product;
    let when = expires_at.format("%Y-%m-%d %H:%M UTC");
    let days_text = if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    };
    Rendered {
        to: to.into(),
        subject: format!("Your {product} password expires in {days_text}"),
        text: format!(
            "The {product} password of {username} expires in {days_text}, on {when}.\n\n\
             Change it before then: My Settings → Change My Password. Changing it also resets your \
             security token, so enter the new password and the new token in every integration that \
             logs in as you (data sync connectors, e-mail add-ins) right away, or they will stop working.\n"
        ),
        html: html(&[
            format!(
                "The {} password of <b>{}</b> expires in {days_text}, on {when}.",
                escape(product),
                escape(username)
            ),
            "Change it before then: <b>My Settings → Change My Password</b>.".into(),
            "Changing it also resets your security token, so enter the new password and the new token in every \
             integration that logs in as you (data sync connectors, e-mail add-ins) right away, or they will stop working."
                .into(),
        ]),
    }
}

/// The message of `latchkey mail send-test`.
pub fn test_message(id: &MailIdentity, to: &str) -> Rendered {
    let product = &id.product;
    Rendered {
        to: to.into(),
        subject: format!("{product} mail test"),
        text: format!("This is a test message from {product}. If you can read it, mail delivery works.\n"),
        html: html(&[format!(
            "This is a test message from {}. If you can read it, mail delivery works.",
            escape(product)
        )]),
    }
}

/// A temporary password after an administrator reset it.
pub fn temporary_password(id: &MailIdentity, to: &str, username: &str, password: &str) -> Rendered {
    let product = &id.product;
    Rendered {
        to: to.into(),
        subject: format!("Your {product} password has been reset"),
        text: format!(
            "An administrator reset your {product} password.\n\nUsername: {username}\nTemporary password: {password}\n\n\
             You must choose a new password when you next log in. Your security token has been reset as well; \
             it arrives in a separate message.\n"
        ),
        html: html(&[
            format!("An administrator reset your {} password.", escape(product)),
            format!("Username: <b>{}</b><br>Temporary password: <code>{}</code>", escape(username), escape(password)),
            "You must choose a new password when you next log in. Your security token has been reset as well; it arrives in a separate message.".into(),
        ]),
    }
}

/// "Your account was locked".
pub fn account_locked(id: &MailIdentity, to: &str, username: &str, until: Option<DateTime<Utc>>) -> Rendered {
    let product = &id.product;
    let when = until.map_or_else(
        || format!("until {} unlocks it", id.admin_contact),
        |t| format!("until {} UTC", t.format("%Y-%m-%d %H:%M")),
    );
    Rendered {
        to: to.into(),
        subject: format!("Your {product} account is locked"),
        text: format!(
            "Your {product} account {username} was locked after too many failed login attempts. It stays locked {when}.\n\n\
             If an integration holds an old password or security token, update it before you log in again. \
             For help, contact {}.\n",
            id.admin_contact
        ),
        html: html(&[
            format!(
                "Your {} account <b>{}</b> was locked after too many failed login attempts. It stays locked {}.",
                escape(product),
                escape(username),
                escape(&when)
            ),
            format!(
                "If an integration holds an old password or security token, update it before you log in again. For help, contact {}.",
                escape(&id.admin_contact)
            ),
        ]),
    }
}

/// "Sign-ins from new places are paused": the smart lockout shut out unfamiliar
/// sources; the user's own addresses, browsers and integrations go on.
pub fn unfamiliar_sources_locked(
    id: &MailIdentity,
    to: &str,
    username: &str,
    until: Option<DateTime<Utc>>,
) -> Rendered {
    let product = &id.product;
    let when = until.map_or_else(
        || format!("until {} unlocks it", id.admin_contact),
        |t| format!("until {} UTC", t.format("%Y-%m-%d %H:%M")),
    );
    let first = format!(
        "Too many failed login attempts for your {product} account {username} came from places it has never logged in from. \
         Password logins from new places are refused {when}."
    );
    let second = "Logins from the addresses and browsers you have used before, and your connected integrations, \
                  keep working. If these attempts were not yours, change your password.";
    Rendered {
        to: to.into(),
        subject: format!("Logins to your {product} account from new places are paused"),
        text: format!("{first}\n\n{second} For help, contact {}.\n", id.admin_contact),
        html: html(&[
            escape(&first),
            format!("{} For help, contact {}.", escape(second), escape(&id.admin_contact)),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_mail_carries_the_token_and_escapes_html() {
        let id = MailIdentity::default();
        let m = security_token(
            &id,
            "a@b.test",
            "<jane>@acme.test",
            "ABCdef123",
            "Your password was changed.",
        );
        assert!(m.text.contains("Security token (case-sensitive): ABCdef123"));
        assert!(m.html.contains("&lt;jane&gt;@acme.test") && !m.html.contains("<jane>"));
        assert!(!format!("{m:?}").contains("ABCdef123"), "Debug hides bodies");
    }

    #[test]
    fn verification_code_is_in_both_parts_and_escaped() {
        let id = MailIdentity::default();
        let m = verification_code(&id, "a@b.test", "<jane>@acme.test", "042917", 10);
        assert!(m.text.contains("Verification code: 042917") && m.text.contains("10 minutes"));
        assert!(m.html.contains("042917") && m.html.contains("&lt;jane&gt;@acme.test"));
        assert!(!m.html.contains("<jane>"));
        assert!(!format!("{m:?}").contains("042917"), "Debug hides bodies");
    }

    #[test]
    fn reset_link_is_in_both_parts_and_escaped() {
        let id = MailIdentity::default();
        let m = password_reset_link(&id, "a@b.test", "jane@acme.test", "https://h.test/reset/a\"b", 60);
        assert!(m.text.contains("https://h.test/reset/a\"b") && m.text.contains("60 minutes"));
        assert!(m.html.contains("href=\"https://h.test/reset/a&quot;b\""));
        assert!(!format!("{m:?}").contains("reset/"), "Debug hides bodies");
    }

    #[test]
    fn lock_notice_names_the_way_out() {
        let id = MailIdentity::default();
        assert!(account_locked(&id, "a", "u", None)
            .text
            .contains("until your Latchkey administrator unlocks it"));
        let t = DateTime::from_timestamp(1_767_225_600, 0);
        assert!(account_locked(&id, "a", "u", t)
            .text
            .contains("until 2026-01-01 00:00 UTC"));
    }
}
