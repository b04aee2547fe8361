//! Admin roles and their tokens (issue 13, finding 13; D78): the operator gives each
//! person a token with the roles of their job, every admin endpoint names the one role it
//! needs, and every admin call (allowed or not) goes to the append-only audit log first.

use edl_core::crypto::{ct_eq, sha256};

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The registry: drivers, activation codes, violations, status, renewal, counter
    /// issuance, verifier accounts.
    Registry,
    /// Photo review: the queue, approvals and rejections, the busy switch for photo
    /// changes.
    Reviewer,
    /// The issuing keys: rotation.
    KeyAdmin,
    /// Reads the audit log; changes nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Registry,
        Role::Reviewer,
        Role::KeyAdmin,
        Role::Auditor,
    ];

    /// Its name in token files and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registry => "registry",
            Role::Reviewer => "reviewer",
            Role::KeyAdmin => "key_admin",
            Role::Auditor => "auditor",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// The role an endpoint needs, as a type (`Admin<Registry>` in a handler's arguments).
pub trait Needs: Send + Sync + 'static {
    /// The role.
    const ROLE: Role;
}

/// Markers for [`Needs`].
pub mod need {
    use super::{Needs, Role};

    /// Needs [`Role::Registry`].
    pub struct Registry;
    /// Needs [`Role::Reviewer`].
    pub struct Reviewer;
    /// Needs [`Role::KeyAdmin`].
    pub struct KeyAdmin;
    /// Needs [`Role::Auditor`].
    pub struct Auditor;

    impl Needs for Registry {
        const ROLE: Role = Role::Registry;
    }
    impl Needs for Reviewer {
        const ROLE: Role = Role::Reviewer;
    }
    impl Needs for KeyAdmin {
        const ROLE: Role = Role::KeyAdmin;
    }
    impl Needs for Auditor {
        const ROLE: Role = Role::Auditor;
    }
}

/// One admin token: who holds it, its roles, and the SHA-256 of the token (the token
/// itself is not kept).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken {
    /// Who holds it (written in the audit log).
    pub name: String,
    /// What it may do.
    pub roles: Vec<Role>,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Why a token file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFileError {
    /// A line is not `name roles sha256`.
    #[error("line {0}: expected `NAME ROLE[,ROLE…] SHA256-HEX`")]
    Malformed(usize),
    /// An unknown role name.
    #[error("line {0}: unknown role (registry, reviewer, key_admin, auditor)")]
    UnknownRole(usize),
    /// Two tokens with one name, or one token twice.
    #[error("line {0}: a name or token given twice")]
    Duplicate(usize),
}

impl AdminToken {
    /// A token `token` for `name` with `roles`.
    pub fn new(name: impl Into<String>, roles: &[Role], token: &str) -> Self {
        AdminToken {
            name: name.into(),
            roles: roles.to_vec(),
            hash: sha256(token.as_bytes()),
        }
    }

    /// Parses a token file: one token a line, `NAME ROLE[,ROLE…] SHA256-HEX` (the hash
    /// of the token, so the file does not hold the tokens); `#` starts a comment.
    pub fn parse_file(text: &str) -> Result<Vec<AdminToken>, TokenFileError> {
        let mut tokens: Vec<AdminToken> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, roles, hash] = fields[..] else {
                return Err(TokenFileError::Malformed(n));
            };
            let roles = roles
                .split(',')
                .map(|r| Role::parse(r).ok_or(TokenFileError::UnknownRole(n)))
                .collect::<Result<Vec<_>, _>>()?;
            let hash: [u8; 32] = hex::decode(hash)
                .ok()
                .and_then(|h| h.try_into().ok())
                .ok_or(TokenFileError::Malformed(n))?;
            if tokens.iter().any(|t| t.name == name || t.hash == hash) {
                return Err(TokenFileError::Duplicate(n));
            }
            tokens.push(AdminToken {
                name: name.to_owned(),
                roles,
                hash,
            });
        }
        Ok(tokens)
    }

    /// The line of a token file for this token.
    pub fn file_line(&self) -> String {
        let roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        format!(
            "{} {} {}",
            self.name,
            roles.join(","),
            hex::encode(self.hash)
        )
    }
}

/// The token matching `given` among `tokens`. Every hash is compared, in constant time,
/// so the time taken does not say which token (if any) matched.
pub fn find<'a>(tokens: &'a [AdminToken], given: &str) -> Option<&'a AdminToken> {
    let hash = sha256(given.as_bytes());
    let mut found = None;
    for t in tokens {
        if ct_eq(&t.hash, &hash) && found.is_none() {
            found = Some(t);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_round_trips_and_bad_lines_are_refused() {
        let a = AdminToken::new("alice", &[Role::Registry, Role::Reviewer], "t-alice");
        let b = AdminToken::new("bob", &[Role::Auditor], "t-bob");
        let text = format!(
            "# tokens\n{}\n\n{}  # auditor\n",
            a.file_line(),
            b.file_line()
        );
        let parsed = AdminToken::parse_file(&text).unwrap();
        assert_eq!(parsed, [a.clone(), b]);
        assert_eq!(
            find(&parsed, "t-alice").map(|t| t.name.as_str()),
            Some("alice")
        );
        assert!(find(&parsed, "t-eve").is_none());
        assert_eq!(
            AdminToken::parse_file("eve root 00"),
            Err(TokenFileError::UnknownRole(1))
        );
        assert_eq!(
            AdminToken::parse_file("eve registry"),
            Err(TokenFileError::Malformed(1))
        );
        let twice = format!("{}\n{}", a.file_line(), a.file_line());
        assert_eq!(
            AdminToken::parse_file(&twice),
            Err(TokenFileError::Duplicate(2))
        );
    }
}
