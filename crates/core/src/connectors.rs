//! A hub connector's state and direction: the words the hub stores, shows and takes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a connector stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    /// Runs on its interval.
    Enabled,
    /// Stopped by the user.
    Disabled,
    /// Stopped by the guard: the CRM rejected the credentials, or announced a change
    /// of them; needs new ones.
    Suspended,
    /// Transient failures; retried later with backoff.
    BackingOff,
}

impl ConnectorState {
    /// Every state.
    pub const ALL: [Self; 4] = [Self::Enabled, Self::Disabled, Self::Suspended, Self::BackingOff];

    /// The stored and shown word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Suspended => "suspended",
            Self::BackingOff => "backing_off",
        }
    }
}

/// Which way a connector moves records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// CRM to hub.
    Pull,
    /// Hub to CRM.
    Push,
    /// Both ways.
    Both,
}

impl Direction {
    /// Every direction.
    pub const ALL: [Self; 3] = [Self::Pull, Self::Push, Self::Both];

    /// The stored and shown word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Both => "both",
        }
    }

    /// Whether a run pulls from the CRM.
    pub fn pulls(self) -> bool {
        self != Self::Push
    }

    /// Whether a run pushes to the CRM.
    pub fn pushes(self) -> bool {
        self != Self::Pull
    }
}

/// A word that names no state or direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be one of: {allowed}")]
pub struct UnknownWord {
    what: &'static str,
    allowed: String,
}

macro_rules! words {
    ($type:ty, $what:literal) => {
        impl FromStr for $type {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s.trim())
                    .ok_or_else(|| UnknownWord {
                        what: $what,
                        allowed: Self::ALL.map(Self::as_str).join(", "),
                    })
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(ConnectorState, "a connector state");
words!(Direction, "direction");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_read_back_as_written() {
        for s in ConnectorState::ALL {
            assert_eq!(s.as_str().parse::<ConnectorState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for d in Direction::ALL {
            assert_eq!(d.to_string().parse::<Direction>(), Ok(d));
        }
        assert_eq!(
            "sideways".parse::<Direction>().unwrap_err().to_string(),
            "direction must be one of: pull, push, both"
        );
        assert!(Direction::Both.pulls() && Direction::Both.pushes());
        assert!(!Direction::Push.pulls() && !Direction::Pull.pushes());
    }
}
