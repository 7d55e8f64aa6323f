//! The abuse limits per user and per address: failed log-ins, new accounts and messages (kept
//! by the core), and connections open at once (counted by the loop, which accepts them). The
//! arithmetic is the domain's (`chat_domain::rate`); this keeps the buckets and counts, each map
//! bounded. Times are durations since the server started.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use chat_domain::Username;
use chat_domain::rate::{Limited, Limiter, RateLimit, RateLimited};

/// The limits, as the operator set them.
#[derive(Debug, Clone)]
pub struct AbuseLimits {
    /// Failed log-ins, counted per username and, separately, per address.
    pub login_failures: RateLimit,
    /// New accounts per address.
    pub registrations: RateLimit,
    /// Messages per user, all their connections together.
    pub messages: RateLimit,
    /// Connections one address may have open at once.
    pub connections_per_address: usize,
    /// Keys (names, addresses) each limiter remembers at most; past it, newcomers wait.
    pub keys_max: usize,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        AbuseLimits {
            login_failures: RateLimit::per(5, Duration::from_secs(60)),
            registrations: RateLimit::per(10, Duration::from_secs(3600)),
            messages: RateLimit {
                burst: 50,
                interval: Duration::from_millis(100),
            },
            connections_per_address: 64,
            keys_max: 100_000,
        }
    }
}

/// How an admitted log-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    LoggedIn,
    /// The password was never checked (the server was busy, or the store failed).
    NotChecked,
    UnknownName,
    WrongPassword,
}

pub struct Guards {
    failures_by_name: Limiter<Username>,
    failures_by_address: Limiter<IpAddr>,
    registrations: Limiter<IpAddr>,
    messages: Limiter<Username>,
}

/// Connections open per address, against `AbuseLimits::connections_per_address`.
pub struct OpenConnections {
    by_address: HashMap<IpAddr, usize>,
    per_address_max: usize,
}

/// The key an address is limited by: an IPv6 host usually holds a whole /64, so that is one
/// address here; an IPv4 address mapped into IPv6 is the IPv4 address.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::from(segments)
            }
        },
    }
}

fn limited(limited: Limited) -> impl Fn(Duration) -> RateLimited {
    move |wait| RateLimited { limited, wait }
}

impl Guards {
    pub fn new(limits: &AbuseLimits) -> Self {
        Guards {
            failures_by_name: Limiter::new(limits.login_failures, limits.keys_max),
            failures_by_address: Limiter::new(limits.login_failures, limits.keys_max),
            registrations: Limiter::new(limits.registrations, limits.keys_max),
            messages: Limiter::new(limits.messages, limits.keys_max),
        }
    }

    /// Admits a log-in attempt, before any hashing is spent on it, by counting it as a failure
    /// of the name and of the address until it is known not to be one (`login_settled`): so
    /// attempts in flight together cannot outrun the limit.
    pub fn may_try_login(
        &mut self,
        name: &Username,
        ip: IpAddr,
        now: Duration,
    ) -> Result<(), RateLimited> {
        let failure = limited(Limited::LogInFailures);
        let address = address_key(ip);
        self.failures_by_name.check(name, now).map_err(&failure)?;
        self.failures_by_address
            .check(&address, now)
            .map_err(&failure)?;
        self.failures_by_name.take(name, now).map_err(&failure)?;
        self.failures_by_address
            .take(&address, now)
            .map_err(&failure)
    }

    /// Settles an admitted attempt: a success counts for neither, an unknown name only for the
    /// address (there is no account to protect), a wrong password for both.
    pub fn login_settled(
        &mut self,
        outcome: LoginOutcome,
        name: &Username,
        ip: IpAddr,
        now: Duration,
    ) {
        let address = address_key(ip);
        match outcome {
            LoginOutcome::LoggedIn | LoginOutcome::NotChecked => {
                self.failures_by_name.give_back(name, now);
                self.failures_by_address.give_back(&address, now);
            }
            LoginOutcome::UnknownName => self.failures_by_name.give_back(name, now),
            LoginOutcome::WrongPassword => {}
        }
    }

    /// Whether the address may register now.
    pub fn may_register(&self, ip: IpAddr, now: Duration) -> Result<(), RateLimited> {
        self.registrations
            .check(&address_key(ip), now)
            .map_err(limited(Limited::Registrations))
    }

    /// Spends one of the address's registrations, once one is under way.
    pub fn registering(&mut self, ip: IpAddr, now: Duration) {
        let _ = self.registrations.take(&address_key(ip), now);
    }

    /// Spends one of the user's messages.
    pub fn may_send(&mut self, user: &Username, now: Duration) -> Result<(), RateLimited> {
        self.messages
            .take(user, now)
            .map_err(limited(Limited::Messages))
    }

    /// Forgets the buckets that are full again, keeping each map to recent actors.
    pub fn forget_full(&mut self, now: Duration) {
        self.failures_by_name.forget_full(now);
        self.failures_by_address.forget_full(now);
        self.registrations.forget_full(now);
        self.messages.forget_full(now);
    }
}

impl OpenConnections {
    pub fn new(per_address_max: usize) -> Self {
        OpenConnections {
            by_address: HashMap::new(),
            per_address_max,
        }
    }

    /// Counts a new connection from `ip`; false if the address already has its limit open.
    pub fn opened(&mut self, ip: IpAddr) -> bool {
        let open = self.by_address.entry(address_key(ip)).or_insert(0);
        if *open >= self.per_address_max {
            return false;
        }
        *open += 1;
        true
    }

    pub fn closed(&mut self, ip: IpAddr) {
        let key = address_key(ip);
        if let Some(open) = self.by_address.get_mut(&key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                self.by_address.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_its_64_and_a_mapped_ipv4_is_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            address_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn connections_per_address_are_counted_and_released() {
        let mut open = OpenConnections::new(2);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        assert!(open.opened(ip));
        assert!(open.opened(ip));
        assert!(!open.opened(ip));
        assert!(open.opened("192.0.2.2".parse().expect("ip")));
        open.closed(ip);
        assert!(open.opened(ip));
    }
}
