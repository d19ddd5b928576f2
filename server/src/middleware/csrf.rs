//! CSRF tokens: one per session, carried by every form and checked on every post.

use rand::RngCore;
use tower_sessions::Session;

use crate::error::{session_failure, Failure, PageError};

const CSRF_KEY: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, PageError> {
    if let Ok(Some(t)) = session.get::<String>(CSRF_KEY).await {
        return Ok(t);
    }
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let t = hex::encode(b);
    session.insert(CSRF_KEY, &t).await.map_err(|e| {
        let broken = Failure::Internal(treewide_core::Error::NotFound(format!("session: {e}")));
        session_failure(&e, broken)
    })?;
    Ok(t)
}

/// Refuse a form whose CSRF token is not the session's.
pub async fn check_csrf(session: &Session, sent: &str) -> Result<(), PageError> {
    match session.get::<String>(CSRF_KEY).await {
        Ok(Some(t)) if !sent.is_empty() && constant_time_eq(t.as_bytes(), sent.as_bytes()) => {
            Ok(())
        }
        // A session store too busy to answer is no reason to call the form forged.
        Err(e) => Err(session_failure(&e, wrong_token()).into()),
        _ => Err(wrong_token().into()),
    }
}

fn wrong_token() -> Failure {
    Failure::Forbidden(
        "the form's CSRF token is missing or wrong; reload the page and try again".into(),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
