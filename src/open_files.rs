//! Raising this process's limit on open files: a server with thousands of connections, and the
//! load generator or tests that open as many, need more than the usual soft limit of 1,024.

/// Raises the soft limit on open files to `wanted`, and the hard limit too where that is allowed
/// (as root). Returns the soft limit now in force, which may be lower than `wanted`.
pub fn raise_limit(wanted: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct this function owns.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur >= wanted {
            return limit.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limit.rlim_max.max(wanted),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return wanted;
        }
        limit.rlim_cur = wanted.min(limit.rlim_max);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
            limit.rlim_cur
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_limit_never_goes_down() {
        let now = super::raise_limit(0);
        assert!(now > 0);
        assert!(super::raise_limit(now + 1) >= now);
    }
}
