//! The one place the harness reads its settings from the process environment: `CI`, and its own
//! `WCC_*` variables (the backend, the binaries, vendor images, the fixture manifest, the timeout
//! factor). Everything else receives values: a [`crate::lattice::LatticeBuilder`] left unconfigured falls
//! back on these, and a runner that has its own flags passes them to the builder instead (and
//! the timeout factor to [`set_timeout_scale`]), never through the environment.
//!
//! It imports nothing else of the harness: the modules that own a setting parse it and say what is
//! wrong with it (the backend, a binary, an image), and re-export the variable's name.
use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable choosing the backend: `processes` or `containers`.
pub const BACKEND_ENV: &str = "WCC_BACKEND";
/// Multiplies every harness timeout (e.g. `WCC_TIMEOUT_SCALE=3` on a loaded machine).
pub const TIMEOUT_SCALE_ENV: &str = "WCC_TIMEOUT_SCALE";
/// Environment variable naming the fixture manifest.
pub const FIXTURES_ENV: &str = "WCC_FIXTURES";
/// A vendor's host image to run instead of the one built from the host binary (containers
/// backend; the image must be on the local engine: there is no registry).
pub const HOST_IMAGE_ENV: &str = "WCC_HOST_IMAGE";
/// A vendor's wadm image (see [`HOST_IMAGE_ENV`]).
pub const WADM_IMAGE_ENV: &str = "WCC_WADM_IMAGE";
/// A NATS server image (see [`HOST_IMAGE_ENV`]).
pub const NATS_IMAGE_ENV: &str = "WCC_NATS_IMAGE";

/// Whether this process runs under CI: `CI` is set, not empty and not `false` (the convention of
/// GitHub Actions and most CI systems).
pub fn is_ci() -> bool {
    ci_value(std::env::var_os("CI").as_deref())
}

fn ci_value(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false")
}

/// The backend `WCC_BACKEND` names, as written (`None` when unset or empty; `Backend` parses it).
pub fn backend() -> Option<String> {
    std::env::var(BACKEND_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The path a binary's variable (`WCC_HOST_BIN`, `WCC_WADM_BIN`, `WCC_NATS_SERVER_BIN`) names.
pub fn binary(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

/// The fixture manifest `WCC_FIXTURES` names.
pub fn fixtures_manifest() -> Option<PathBuf> {
    std::env::var_os(FIXTURES_ENV).map(PathBuf::from)
}

/// The vendor images set in `WCC_HOST_IMAGE`, `WCC_WADM_IMAGE` and `WCC_NATS_IMAGE`, as
/// `(variable, image)`.
pub fn image_overrides() -> Vec<(&'static str, String)> {
    [HOST_IMAGE_ENV, WADM_IMAGE_ENV, NATS_IMAGE_ENV]
        .into_iter()
        .filter_map(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (k, v))
        })
        .collect()
}

/// The timeout factor of this process: what [`set_timeout_scale`] set, else `WCC_TIMEOUT_SCALE`
/// read at first use (unset: 1). `Err` holds why the variable's value is refused.
static TIMEOUT_SCALE: OnceLock<Result<f64, String>> = OnceLock::new();

fn timeout_scale_setting() -> &'static Result<f64, String> {
    TIMEOUT_SCALE.get_or_init(|| match std::env::var(TIMEOUT_SCALE_ENV) {
        Ok(v) => parse_timeout_scale(&v).map_err(|e| format!("{TIMEOUT_SCALE_ENV}={v}: {e}")),
        Err(std::env::VarError::NotPresent) => Ok(1.0),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(format!("{TIMEOUT_SCALE_ENV}={v:?} is not UTF-8"))
        }
    })
}

/// A timeout factor as `WCC_TIMEOUT_SCALE` or a runner's `--timeout-scale` takes it: a finite
/// number above 0 (e.g. `3`, `1.5`).
pub fn parse_timeout_scale(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!(
            "'{text}' is not a timeout factor: give a number above 0, e.g. 3 (every timeout \
             multiplied by it)"
        )),
    }
}

/// The factor every harness timeout is multiplied by (a refused `WCC_TIMEOUT_SCALE` counts as 1
/// here; every lattice start refuses it first, [`check_timeout_scale`]).
pub fn timeout_scale() -> f64 {
    timeout_scale_setting().as_ref().copied().unwrap_or(1.0)
}

/// Why `WCC_TIMEOUT_SCALE` is refused, if it is (unset is fine: factor 1).
pub fn check_timeout_scale() -> Result<(), String> {
    timeout_scale_setting()
        .as_ref()
        .map(|_| ())
        .map_err(Clone::clone)
}

/// Sets this process's timeout factor (a runner's `--timeout-scale`). It must come before the
/// first wait: a process keeps one factor, so a different one after that is refused.
pub fn set_timeout_scale(factor: f64) -> Result<(), String> {
    let factor = parse_timeout_scale(&factor.to_string())?;
    match TIMEOUT_SCALE.get_or_init(|| Ok(factor)) {
        Ok(f) if *f == factor => Ok(()),
        _ => Err(format!(
            "the timeout factor is already {} in this process; set it before the first wait",
            timeout_scale()
        )),
    }
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

    #[test]
    fn the_timeout_factor_is_set_once() {
        // This test process reads no WCC_TIMEOUT_SCALE before (unit tests do not wait).
        super::set_timeout_scale(1.0).unwrap();
        super::set_timeout_scale(1.0).unwrap();
        let err = super::set_timeout_scale(2.0).unwrap_err();
        assert!(err.contains("already 1"), "{err}");
        assert!(super::set_timeout_scale(-1.0).is_err());
        assert_eq!(super::timeout_scale(), 1.0);
    }

    #[test]
    fn a_timeout_factor_is_a_number_above_zero() {
        assert_eq!(super::parse_timeout_scale("3"), Ok(3.0));
        assert_eq!(super::parse_timeout_scale(" 1.5 "), Ok(1.5));
        for bad in ["abc", "", "0", "-2", "inf", "NaN"] {
            let e = super::parse_timeout_scale(bad).unwrap_err();
            assert!(
                e.contains(&format!("'{bad}'")) && e.contains("above 0"),
                "{e}"
            );
        }
    }
}
