//! Settings the harness takes from the process environment that are not its own: whether it runs
//! under CI. (Its own `WCC_*` variables are read where their builders are: [`crate::Backend`],
//! [`crate::binaries::Binaries::from_env`], [`crate::wait::scaled`].)

/// Whether this process runs under CI: `CI` is set, not empty and not `false` (the convention of
/// GitHub Actions and most CI systems).
pub fn is_ci() -> bool {
    ci_value(std::env::var_os("CI").as_deref())
}

fn ci_value(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    #[test]
    fn ci_is_set_not_empty_and_not_false() {
        assert!(super::ci_value(Some(OsStr::new("true"))));
        assert!(super::ci_value(Some(OsStr::new("1"))));
        assert!(!super::ci_value(Some(OsStr::new("false"))));
        assert!(!super::ci_value(Some(OsStr::new(""))));
        assert!(!super::ci_value(None));
    }
}
