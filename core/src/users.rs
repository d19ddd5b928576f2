//! People and bots: accounts with invites and argon2 passwords, scoped API tokens, and who may
//! sign off which site.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::model::{now, SiteId};
use crate::transition::Authority;
use crate::{Error, Result};

/// Row id of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An account.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    /// The argon2 hash (empty until the invite is accepted); never serialized.
    #[serde(skip)]
    pub password_hash: String,
}

impl User {
    /// How the user appears in history: `Name <email>` or the email.
    pub fn display(&self) -> String {
        if self.name.is_empty() {
            self.email.clone()
        } else {
            format!("{} <{}>", self.name, self.email)
        }
    }
}

/// How long an invite link stays valid.
pub const INVITE_DAYS: i64 = 14;

/// The argon2 parameters of new hashes: OWASP's argon2id minimum (19 MiB, 2 passes) by
/// default. Tests set TREEWIDE_ARGON2_MEMORY_KIB low so hashing does not dominate them; it is
/// read per call.
fn argon2_memory_kib() -> u32 {
    std::env::var("TREEWIDE_ARGON2_MEMORY_KIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|m: &u32| *m >= 8)
        .unwrap_or(19_456)
}

fn argon2_with(memory_kib: u32) -> Argon2<'static> {
    let params = Params::new(memory_kib, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_with(memory_kib: u32, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2_with(memory_kib)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Invalid {
            what: "password",
            value: String::new(),
            expected: "a password argon2 can hash",
        })
}

/// Hash a password for storage (on the calling thread: see [`hash_password_off_thread`]).
pub fn hash_password(password: &str) -> Result<String> {
    hash_with(argon2_memory_kib(), password)
}

/// Whether `password` matches the PHC string `hash` (whose own parameters are used).
fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            argon2_with(argon2_memory_kib())
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody has, made with the parameters of new hashes, so that checking
/// a password against it costs what checking a real account's costs. Made once per parameter
/// set (tests change the memory cost).
fn dummy_hash() -> Result<String> {
    static DUMMY: std::sync::Mutex<Option<(u32, String)>> = std::sync::Mutex::new(None);
    let m = argon2_memory_kib();
    let mut d = DUMMY.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((dm, h)) = d.as_ref() {
        if *dm == m {
            return Ok(h.clone());
        }
    }
    let h = hash_with(m, &secret(16))?;
    *d = Some((m, h.clone()));
    Ok(h)
}

/// argon2 runs at once at most, one per core: each holds a core for tens of milliseconds and
/// 19 MiB, so a burst of logins waits here instead of filling the blocking pool and the
/// memory, and the async workers keep serving pages meanwhile.
fn argon2_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(n)
    })
}

/// Run `work` (argon2) on the blocking pool, at most [`argon2_slots`] at once.
async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    // The semaphore is never closed, so acquiring only waits.
    let _slot = argon2_slots().acquire().await;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Error::Task(e.to_string()),
        })
}

/// [`hash_password`] on the blocking pool, for callers on an async worker.
pub async fn hash_password_off_thread(password: &str) -> Result<String> {
    let password = password.to_owned();
    off_thread(move || hash_password(&password)).await?
}

/// Check `password` against `hash` on the blocking pool; without a hash (no such account, or
/// an invite not accepted yet) against [`dummy_hash`], which costs the same and never matches.
async fn verify_off_thread(hash: Option<String>, password: &str) -> Result<bool> {
    let password = password.to_owned();
    off_thread(move || match hash {
        Some(h) => Ok(verify_password(&h, &password)),
        None => dummy_hash().map(|d| {
            let _ = verify_password(&d, &password);
            false
        }),
    })
    .await?
}

/// A fresh random secret, hex.
fn secret(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 hex of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_email(email: &str) -> Result<String> {
    let e = email.trim().to_ascii_lowercase();
    let ok = e
        .split_once('@')
        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
        && !e.contains(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(Error::Invalid {
            what: "email",
            value: email.to_owned(),
            expected: "an address like name@example.org",
        })
    }
}

/// Add a user (or renew the invite of one who has not set a password yet). Returns the user and
/// the one-time invite token to put in the invite link.
pub async fn invite(
    db: &SqlitePool,
    email: &str,
    name: &str,
    admin: bool,
) -> Result<(User, String)> {
    let email = check_email(email)?;
    let token = secret(24);
    let hash = token_hash(&token);
    let expires = crate::model::format_time(
        time::OffsetDateTime::now_utc() + time::Duration::days(INVITE_DAYS),
    );
    let at = now();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO users (email, name, is_admin, invite_hash, invite_expires, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6)
           ON CONFLICT (email) DO UPDATE SET invite_hash = excluded.invite_hash,
               invite_expires = excluded.invite_expires,
               name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END,
               is_admin = max(users.is_admin, excluded.is_admin)
           RETURNING id AS "id!: UserId""#,
        email,
        name,
        admin,
        hash,
        expires,
        at
    )
    .fetch_one(db)
    .await?;
    Ok((
        get(db, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))?,
        token,
    ))
}

/// The user an unexpired invite token belongs to.
pub async fn by_invite(db: &SqlitePool, token: &str) -> Result<Option<User>> {
    let hash = token_hash(token);
    let at = now();
    let id = sqlx::query_scalar!(
        r#"SELECT id AS "id!: UserId" FROM users WHERE invite_hash = ?1 AND invite_expires > ?2"#,
        hash,
        at
    )
    .fetch_optional(db)
    .await?;
    match id {
        Some(id) => get(db, id).await,
        None => Ok(None),
    }
}

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a new password is refused, in words for the person choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefused {
    /// The two entries of a new password differ.
    #[error("The two passwords differ.")]
    Differs,
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("Use at least {} characters.", MIN_PASSWORD_CHARS)]
    TooShort,
}

/// The password policy: long enough. Every path that sets a password checks it here.
pub fn check_password(password: &str) -> std::result::Result<(), PasswordRefused> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordRefused::TooShort);
    }
    Ok(())
}

/// A new password typed twice (a form's two fields): the same both times, and allowed by
/// [`check_password`].
pub fn check_new_password(password: &str, again: &str) -> std::result::Result<(), PasswordRefused> {
    if password != again {
        return Err(PasswordRefused::Differs);
    }
    check_password(password)
}

/// Set the password with an invite token, which is used up in the same statement: of any
/// number of simultaneous acceptances of one invite exactly one sets the password, the others
/// find it used ([`Error::NotFound`]).
pub async fn accept_invite(db: &SqlitePool, token: &str, password: &str) -> Result<User> {
    check_password(password).map_err(|_| Error::Invalid {
        what: "password",
        value: String::new(),
        expected: "at least 10 characters",
    })?;
    // A cheap look first, so that a wrong link costs no argon2 run.
    if by_invite(db, token).await?.is_none() {
        return Err(Error::NotFound("invite (used or expired)".into()));
    }
    let hash = hash_password_off_thread(password).await?;
    let invite = token_hash(token);
    let at = now();
    let id = sqlx::query_scalar!(
        r#"UPDATE users SET password_hash = ?3, invite_hash = NULL, invite_expires = NULL
           WHERE invite_hash = ?1 AND invite_expires > ?2
           RETURNING id AS "id!: UserId""#,
        invite,
        at,
        hash
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound("invite (used or expired)".into()))?;
    get(db, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
}

/// A user by id.
pub async fn get(db: &SqlitePool, id: UserId) -> Result<Option<User>> {
    Ok(sqlx::query!(
        r#"SELECT id AS "id!: UserId", email, name, is_admin AS "is_admin: bool", password_hash FROM users WHERE id = ?1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .map(|r| User {
        id: r.id,
        email: r.email,
        name: r.name,
        is_admin: r.is_admin,
        password_hash: r.password_hash.unwrap_or_default(),
    }))
}

/// The user with this email and password, if they match. argon2 runs on the blocking pool;
/// an unknown email or an account without a password costs the same argon2 run, so the
/// answer's timing does not tell which addresses have accounts.
pub async fn authenticate(db: &SqlitePool, email: &str, password: &str) -> Result<Option<User>> {
    let user = by_email(db, email).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .filter(|h| !h.is_empty());
    let ok = verify_off_thread(hash, password).await?;
    Ok(user.filter(|_| ok))
}

/// Whether `user` may sign off `site`: an admin, or an M:/R: of a section of the site's
/// file whose sign-off the campaign takes (`routing::signing`: by default the most specific
/// sections, the primary and any as deep; with the campaign's scope widened, any of them).
pub async fn may_sign_off(
    db: impl sqlx::SqliteExecutor<'_>,
    user: &User,
    site: SiteId,
) -> Result<bool> {
    if user.is_admin {
        return Ok(true);
    }
    crate::routing::signs_for(db, site, &user.email).await
}

/// The authority `user` has over `site`.
pub async fn authority(db: &SqlitePool, user: &User, site: SiteId) -> Result<Authority> {
    Ok(if may_sign_off(db, user, site).await? {
        Authority::Signoff
    } else {
        Authority::Proposal
    })
}

/// Names of the subsystems whose MAINTAINERS entry lists `email` as M: or R:.
pub async fn subsystems_of(db: &SqlitePool, email: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT DISTINCT ss.name AS "name!: String" FROM subsystem_people sp
           JOIN subsystems ss ON ss.id = sp.subsystem_id WHERE sp.email = ?1 ORDER BY ss.name"#,
        email
    )
    .fetch_all(db)
    .await?)
}

/// Whether `user` speaks for `subsystem` (answers questions asked of it).
pub async fn speaks_for(
    db: &SqlitePool,
    user: &User,
    subsystem: crate::model::SubsystemId,
) -> Result<bool> {
    if user.is_admin {
        return Ok(true);
    }
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!: i64" FROM subsystem_people WHERE subsystem_id = ?1 AND email = ?2"#,
        subsystem,
        user.email
    )
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "notes:write")]
    NotesWrite,
    #[serde(rename = "status:write")]
    StatusWrite,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::NotesWrite, Scope::StatusWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::NotesWrite => "notes:write",
            Scope::StatusWrite => "status:write",
        }
    }

    pub fn parse(s: &str) -> Result<Scope> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::Invalid {
                what: "token scope",
                value: s.to_owned(),
                expected: "read, notes:write or status:write",
            })
    }
}

/// An API token as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Create a token for `user`; returns its id and the secret, shown once.
pub async fn create_token(
    db: &SqlitePool,
    user: UserId,
    name: &str,
    scopes: &[Scope],
) -> Result<(i64, String)> {
    if scopes.is_empty() {
        return Err(Error::Invalid {
            what: "token scopes",
            value: String::new(),
            expected: "at least one scope",
        });
    }
    let token = format!("tw_{}", secret(24));
    let hash = token_hash(&token);
    let prefix: String = token.chars().take(10).collect();
    let mut s: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    s.sort_unstable();
    s.dedup();
    let scopes = s.join(" ");
    let at = now();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO api_tokens (user_id, name, token_hash, prefix, scopes, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id AS "id!: i64""#,
        user,
        name,
        hash,
        prefix,
        scopes,
        at
    )
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

/// How often a token's use is recorded: its `last_used_at` is true to this many seconds.
const TOKEN_USE_PRECISION: i64 = 3600;

/// The user and scopes of a valid (unrevoked) token; records its use, at most once an hour
/// ([`TOKEN_USE_PRECISION`]). Writing it on every call made every API request a write
/// transaction: each waited for the write lock behind an import's chunk and emptied the page
/// cache for everyone (the cache empties on any commit).
pub async fn check_token(db: &SqlitePool, token: &str) -> Result<Option<(User, Vec<Scope>)>> {
    let hash = token_hash(token);
    let Some(r) = sqlx::query!(
        r#"SELECT t.id AS "id!: i64", t.scopes, t.last_used_at, u.id AS "user_id!: UserId", u.email,
                  u.name, u.is_admin AS "is_admin: bool", u.password_hash
           FROM api_tokens t JOIN users u ON u.id = t.user_id
           WHERE t.token_hash = ?1 AND t.revoked_at IS NULL"#,
        hash
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let now_t = time::OffsetDateTime::now_utc();
    let recent = crate::model::format_time(now_t - time::Duration::seconds(TOKEN_USE_PRECISION));
    if r.last_used_at
        .as_deref()
        .is_none_or(|t| t < recent.as_str())
    {
        let at = crate::model::format_time(now_t);
        sqlx::query!(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            r.id,
            at
        )
        .execute(db)
        .await?;
    }
    let scopes = r
        .scopes
        .split_whitespace()
        .filter_map(|s| Scope::parse(s).ok())
        .collect();
    let user = User {
        id: r.user_id,
        email: r.email,
        name: r.name,
        is_admin: r.is_admin,
        password_hash: r.password_hash.unwrap_or_default(),
    };
    Ok(Some((user, scopes)))
}

/// A user's tokens, newest first.
pub async fn tokens(db: &SqlitePool, user: UserId) -> Result<Vec<Token>> {
    Ok(sqlx::query!(
        r#"SELECT id AS "id!: i64", name, prefix, scopes, created_at, last_used_at, revoked_at
           FROM api_tokens WHERE user_id = ?1 ORDER BY id DESC"#,
        user
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| Token {
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
    })
    .collect())
}

/// Revoke one of `user`'s tokens. Returns whether it was theirs and active.
pub async fn revoke_token(db: &SqlitePool, user: UserId, id: i64) -> Result<bool> {
    let at = now();
    Ok(sqlx::query!(
        "UPDATE api_tokens SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        id,
        user,
        at
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// A user by email.
pub async fn by_email(db: &SqlitePool, email: &str) -> Result<Option<User>> {
    let email = email.trim().to_ascii_lowercase();
    let id = sqlx::query_scalar!(
        r#"SELECT id AS "id!: UserId" FROM users WHERE email = ?1"#,
        email
    )
    .fetch_optional(db)
    .await?;
    match id {
        Some(id) => get(db, id).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_must_be_typed_twice_the_same_and_be_long_enough() {
        assert_eq!(
            check_new_password("correct horse 1", "correct horse 2"),
            Err(PasswordRefused::Differs)
        );
        assert_eq!(
            check_new_password("short", "short"),
            Err(PasswordRefused::TooShort)
        );
        assert_eq!(
            PasswordRefused::TooShort.to_string(),
            "Use at least 10 characters."
        );
        // Characters, not bytes: ten umlauts are enough, nine are not.
        assert!(check_password(&"ü".repeat(10)).is_ok());
        assert!(check_password(&"ü".repeat(9)).is_err());
        assert!(check_new_password("correct horse 1", "correct horse 1").is_ok());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs_and_matches_nothing() {
        let real = hash_password("correct horse 1").unwrap();
        let dummy = dummy_hash().unwrap();
        let params = |h: &str| PasswordHash::new(h).unwrap().params.to_string();
        assert_eq!(params(&real), params(&dummy));
        assert!(verify_password(&real, "correct horse 1"));
        assert!(!verify_password(&dummy, "correct horse 1"));
        assert!(!verify_password(&dummy, ""));
    }
}
