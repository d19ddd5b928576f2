//! Login rate limits: attempts per account (email) and per client address, with governor's
//! GCRA limiters. An attempt counts whether it succeeds or not (a limiter cannot give a cell
//! back), so the limits are set well above what a person needs.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::{Limit, LoginLimits};

/// Where a login comes from, as far as the server can tell (`None` without a network peer,
/// as in tests through the router alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddr(client_addr(peer, &forwarded)))
    }
}

/// The address a login counts against. A peer on loopback is a reverse proxy on this machine
/// (or someone already on it), so its `X-Forwarded-For` is believed: the last entry is the
/// one the proxy added. Any other peer is the client itself.
fn client_addr(peer: Option<IpAddr>, forwarded_for: &str) -> Option<IpAddr> {
    let peer = peer?;
    if peer.is_loopback() {
        if let Some(last) = forwarded_for
            .rsplit(',')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse::<IpAddr>().ok())
        {
            return Some(last);
        }
    }
    Some(peer)
}

/// The key of an address: IPv4 as it is, IPv6 by its /64 (one host usually has a whole /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The key of an account: the email as logins compare it, at most as long as an address
/// can be (a longer one has no account anyway).
fn account_key(email: &str) -> String {
    let e = email.trim().to_lowercase();
    match e.char_indices().nth(320) {
        Some((i, _)) => e[..i].to_owned(),
        None => e,
    }
}

fn quota(l: Limit) -> Quota {
    Quota::with_period(l.every)
        .unwrap_or_else(|| Quota::per_second(l.burst))
        .allow_burst(l.burst)
}

type Keyed<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Keys forgotten once they are back to a full burst, every this many attempts, so a spray
/// of made-up emails cannot grow the limiters without end.
const FORGET_EVERY: u64 = 1024;

/// The two limiters of logins.
pub struct LoginGuard<C: Clock + Clone = DefaultClock> {
    accounts: Keyed<String, C>,
    addresses: Keyed<IpAddr, C>,
    clock: C,
    attempts: AtomicU64,
}

impl LoginGuard {
    /// Limiters with `limits`, on the system's monotonic clock.
    pub fn new(limits: LoginLimits) -> LoginGuard {
        LoginGuard::with_clock(limits, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LoginGuard<C> {
    /// Limiters with `limits` on `clock` (a fake one in tests).
    pub fn with_clock(limits: LoginLimits, clock: C) -> LoginGuard<C> {
        LoginGuard {
            accounts: RateLimiter::new(
                quota(limits.per_account),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            addresses: RateLimiter::new(
                quota(limits.per_address),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
            attempts: AtomicU64::new(0),
        }
    }

    /// Count a login attempt for `email` from `addr`: `Err` with how long to wait when either
    /// has had too many. The address is checked first, so attempts refused for it do not use
    /// up the account's.
    pub fn attempt(&self, email: &str, addr: Option<IpAddr>) -> Result<(), Duration> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.accounts.retain_recent();
            self.addresses.retain_recent();
        }
        if let Some(ip) = addr.map(address_key) {
            self.check(&self.addresses, &ip)?;
        }
        self.check(&self.accounts, &account_key(email))
    }

    fn check<K: Clone + Hash + Eq>(&self, l: &Keyed<K, C>, key: &K) -> Result<(), Duration> {
        l.check_key(key)
            .map(|_| ())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Whole seconds to wait, at least one (for `Retry-After`).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limits(account: u32, address: u32) -> LoginLimits {
        LoginLimits {
            per_account: Limit {
                burst: NonZeroU32::new(account).unwrap(),
                every: Duration::from_secs(60),
            },
            per_address: Limit {
                burst: NonZeroU32::new(address).unwrap(),
                every: Duration::from_secs(10),
            },
        }
    }

    #[test]
    fn an_account_gets_its_burst_then_one_attempt_per_period() {
        let clock = FakeRelativeClock::default();
        let g = LoginGuard::with_clock(limits(3, 100), clock.clone());
        let ip = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(g.attempt("hch@lst.de", ip), Ok(()));
        }
        // Case and spaces do not make another account.
        let wait = g.attempt(" HCH@lst.de", ip).unwrap_err();
        assert_eq!(retry_after_secs(wait), 60);
        assert!(g.attempt("someone@example.org", ip).is_ok(), "others may");
        clock.advance(Duration::from_secs(59));
        assert_eq!(
            retry_after_secs(g.attempt("hch@lst.de", ip).unwrap_err()),
            1
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(g.attempt("hch@lst.de", ip), Ok(()));
        assert!(g.attempt("hch@lst.de", ip).is_err(), "one per period");
    }

    #[test]
    fn an_address_trying_many_accounts_is_stopped_and_others_are_not() {
        let clock = FakeRelativeClock::default();
        let g = LoginGuard::with_clock(limits(100, 5), clock.clone());
        let ip = Some("2001:db8::1".parse().unwrap());
        let same_64 = Some("2001:db8::ffff:2".parse().unwrap());
        for i in 0..5 {
            assert!(g.attempt(&format!("u{i}@example.org"), ip).is_ok());
        }
        let wait = g.attempt("u9@example.org", same_64).unwrap_err();
        assert_eq!(retry_after_secs(wait), 10, "the /64 is one address");
        assert!(g
            .attempt("u9@example.org", Some("2001:db8:1::1".parse().unwrap()))
            .is_ok());
        // Without an address only the account counts.
        assert!(g.attempt("u9@example.org", None).is_ok());
        clock.advance(Duration::from_secs(10));
        assert!(g.attempt("u10@example.org", ip).is_ok());
    }

    #[test]
    fn a_proxy_on_loopback_names_the_client_a_remote_peer_cannot() {
        let lo = Some(IpAddr::from([127, 0, 0, 1]));
        let remote = Some(IpAddr::from([198, 51, 100, 7]));
        assert_eq!(
            client_addr(lo, "203.0.113.9, 192.0.2.4"),
            Some(IpAddr::from([192, 0, 2, 4]))
        );
        assert_eq!(client_addr(lo, ""), lo);
        assert_eq!(client_addr(lo, "garbage"), lo);
        assert_eq!(client_addr(remote, "192.0.2.4"), remote);
        assert_eq!(client_addr(None, "192.0.2.4"), None);
        assert_eq!(
            address_key("::ffff:192.0.2.4".parse().unwrap()),
            IpAddr::from([192, 0, 2, 4])
        );
    }
}
