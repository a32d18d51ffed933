//! Every exit code of `wasmcloud-conformance`, in one place (shown by `--help`).
use std::process::ExitCode;

/// Why the program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Exit {
    /// Success: the run passed, the report verifies, the reports do not differ.
    Ok,
    /// `run`: a test failed, errored or passed unexpectedly; `diff`: a test differs.
    Failed,
    /// Bad command line: unknown subcommand or flag, bad value (clap's own code).
    Usage,
    /// A binary under test is missing, not an executable file, or does not answer `--version`.
    Binary,
    /// Unknown profile or feature (`--profile`, `--feature`, `WCC_TARGET_UNSUPPORTED`).
    UnknownSelection,
    /// The selection (profile, features, filters) matches no test.
    NothingSelected,
    /// The expectation file is missing (when named), malformed, or names an unknown test.
    Expectations,
    /// The results directory cannot be created or written.
    Results,
    /// `verify`/`diff`: an input file cannot be read.
    Unreadable,
    /// `verify`/`diff`: an input is not JSON.
    NotJson,
    /// `verify`/`diff`: an input does not match the report schema (`suites/report/schema/report-v1.schema.json`).
    Schema,
    /// `verify`: summary counts, coverage or test names disagree with the test list.
    Inconsistent,
    /// `verify`: a covered item is not in the catalogue.
    UnknownItem,
    /// `verify`: `content_sha256` does not match the content (edited after the run).
    Tampered,
    /// `verify`/`coverage`: the catalogue given with `--catalogue` cannot be read or is not valid.
    Catalogue,
    /// The chosen backend cannot run here (containers: no Docker engine answers).
    Backend,
    /// `--target existing` without what it needs (`--nats-url`).
    TargetIncomplete,
    /// The existing lattice's NATS server cannot be reached.
    NatsUnreachable,
    /// No host of the existing lattice answers a control-interface ping.
    NoHosts,
    /// The NATS credentials file (`--nats-creds`) or TLS CA (`--nats-tls-ca`) does not exist or
    /// cannot be used.
    Credentials,
    /// `verify`: the report names another catalogue (version or SHA-256) than the one it is
    /// checked against, or none.
    CatalogueMismatch,
    /// The program itself broke (e.g. the async runtime did not start).
    Internal,
}

impl Exit {
    /// Every code, in table order.
    pub(crate) const ALL: [Exit; 22] = [
        Exit::Ok,
        Exit::Failed,
        Exit::Usage,
        Exit::Binary,
        Exit::UnknownSelection,
        Exit::NothingSelected,
        Exit::Expectations,
        Exit::Results,
        Exit::Unreadable,
        Exit::NotJson,
        Exit::Schema,
        Exit::Inconsistent,
        Exit::UnknownItem,
        Exit::Tampered,
        Exit::Catalogue,
        Exit::Backend,
        Exit::TargetIncomplete,
        Exit::NatsUnreachable,
        Exit::NoHosts,
        Exit::Credentials,
        Exit::CatalogueMismatch,
        Exit::Internal,
    ];

    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Binary => 3,
            Exit::UnknownSelection => 4,
            Exit::NothingSelected => 5,
            Exit::Expectations => 6,
            Exit::Results => 7,
            Exit::Unreadable => 8,
            Exit::NotJson => 9,
            Exit::Schema => 10,
            Exit::Inconsistent => 11,
            Exit::UnknownItem => 12,
            Exit::Tampered => 13,
            Exit::Catalogue => 14,
            Exit::Backend => 15,
            Exit::TargetIncomplete => 16,
            Exit::NatsUnreachable => 17,
            Exit::NoHosts => 18,
            Exit::Credentials => 19,
            Exit::CatalogueMismatch => 20,
            Exit::Internal => 70,
        }
    }

    /// One line for the table.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success: the run passed (expected failures allowed), the report verifies, no test differs",
            Exit::Failed => "run: a test failed, errored or passed unexpectedly; diff: a test differs",
            Exit::Usage => "bad command line: unknown subcommand or flag, bad value (e.g. --jobs 0)",
            Exit::Binary => "a binary under test is missing, not an executable file, or does not answer --version",
            Exit::UnknownSelection => "unknown profile or feature (--profile, --feature, WCC_TARGET_UNSUPPORTED)",
            Exit::NothingSelected => "the selection (profile, features, filters) matches no test",
            Exit::Expectations => "expectation file missing (when named), malformed, or naming an unknown test",
            Exit::Results => "the results directory cannot be created or written",
            Exit::Unreadable => "verify/diff: an input file cannot be read",
            Exit::NotJson => "verify/diff: an input is not JSON",
            Exit::Schema => "verify/diff: an input does not match report-v1.schema.json",
            Exit::Inconsistent => "verify: summary counts, coverage or names disagree with the test list",
            Exit::UnknownItem => "verify: a covered item is not in the catalogue",
            Exit::Tampered => "verify: content_sha256 does not match the content (edited after the run)",
            Exit::Catalogue => "verify/coverage: the --catalogue file cannot be read or is not a valid catalogue",
            Exit::Backend => "the backend cannot run here (--backend containers or an image flag, and no Docker engine answers)",
            Exit::TargetIncomplete => "--target existing without --nats-url (WCC_NATS_URL)",
            Exit::NatsUnreachable => "--target existing: the NATS server at --nats-url cannot be reached (answered within seconds)",
            Exit::NoHosts => "--target existing: no host of --lattice answers a control-interface ping (bounded wait)",
            Exit::Credentials => "--target existing: the --nats-creds or --nats-tls-ca file does not exist or is not usable",
            Exit::CatalogueMismatch => "verify: the report names another catalogue (version, sha256) than verify's, or none",
            Exit::Internal => "internal error of the program itself",
        }
    }

    /// The table shown by `--help`.
    pub(crate) fn table() -> String {
        let mut out = String::from("Exit codes:\n");
        for e in Exit::ALL {
            out.push_str(&format!("  {:>3}  {}\n", e.code(), e.meaning()));
        }
        out
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// An error that ends the program with its exit code; the message names the problem and, where
/// there is one, the fix.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_the_table_lists_each() {
        let mut codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Exit::ALL.len());
        let table = Exit::table();
        for e in Exit::ALL {
            assert!(
                table.contains(&format!("{:>3}  {}", e.code(), e.meaning())),
                "{table}"
            );
        }
        assert_eq!(
            Exit::Usage.code(),
            2,
            "clap exits with 2 on a bad command line"
        );
    }
}
