//! The pinned versions of what the suite installs, read from `ci/versions.env` (the one place
//! where they are written down) at compile time.

const VERSIONS_ENV: &str = include_str!("../../ci/versions.env");

/// The value of `KEY=value` in `ci/versions.env`, if present.
pub fn pinned(key: &str) -> Option<&'static str> {
    VERSIONS_ENV
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim())
        })
}

/// The pinned nats-server version.
pub fn nats_server() -> &'static str {
    pinned("NATS_SERVER_VERSION").unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_are_readable() {
        let v = super::nats_server();
        assert!(
            v.split('.').count() == 3 && v.chars().next().unwrap().is_ascii_digit(),
            "{v}"
        );
        assert!(super::pinned("REFERENCE_HOST_CRATE")
            .unwrap()
            .starts_with("wasmcloud-host@"));
        assert_eq!(super::pinned("NO_SUCH_PIN"), None);
    }
}
