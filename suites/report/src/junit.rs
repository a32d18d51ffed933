//! The report as JUnit XML, for CI systems that read test results in that form.
use super::report::{RecordStatus, Report};
use crate::ReportError;

impl Report {
    /// JUnit XML (one suite, one case per test; skipped cases, which did not run, carry their
    /// reason; an expected failure is a success with the property `wcc.status=expected-failure`).
    pub fn junit(&self) -> Result<String, ReportError> {
        use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("wasmcloud-conformance");
        for t in &self.tests {
            let status = match t.status {
                RecordStatus::Passed => TestCaseStatus::success(),
                RecordStatus::Failed | RecordStatus::Error | RecordStatus::UnexpectedPass => {
                    let kind = if t.status == RecordStatus::Error {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    let message = match (t.status, &t.message) {
                        (RecordStatus::UnexpectedPass, _) => Some(format!(
                            "unexpected pass: the expectation file lists it as a known failure ({})",
                            t.expected_failure_reason.as_deref().unwrap_or("no reason given")
                        )),
                        (_, m) => m.clone(),
                    };
                    if let Some(m) = &message {
                        s.set_message(m.lines().next().unwrap_or_default());
                        s.set_description(m.as_str());
                    }
                    s
                }
                // `<skipped>` means not run. An expected failure ran (and failed as the
                // expectation file says): it does not fail the run, so it is a success in JUnit,
                // marked by the property `wcc.status` and its reason in system-out.
                RecordStatus::ExpectedFailure => TestCaseStatus::success(),
                RecordStatus::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    if let Some(m) = &t.message {
                        s.set_message(m.as_str());
                    }
                    s
                }
            };
            let mut case = TestCase::new(t.name.as_str(), status);
            case.set_classname(t.area.as_str());
            case.set_time(std::time::Duration::from_secs_f64(t.duration_seconds));
            if let Some(p) = &t.property {
                case.add_property(quick_junit::Property::new(
                    "wcc.property.cases",
                    p.cases.to_string(),
                ));
                case.add_property(quick_junit::Property::new(
                    "wcc.property.seed",
                    p.seed.as_str(),
                ));
            }
            for o in &t.observations {
                case.add_property(quick_junit::Property::new("wcc.observation", o.as_str()));
            }
            if t.status == RecordStatus::ExpectedFailure {
                case.add_property(quick_junit::Property::new("wcc.status", "expected-failure"));
                case.set_system_out(format!(
                    "expected failure ({}): {}",
                    t.expected_failure_reason
                        .as_deref()
                        .unwrap_or("no reason given"),
                    t.message.as_deref().unwrap_or("")
                ));
            }
            suite.add_test_case(case);
        }
        let mut report = JReport::new("wasmcloud-conformance");
        report.add_test_suite(suite);
        report
            .to_string()
            .map_err(|e| ReportError::Format(format!("cannot render JUnit: {e}")))
    }
}
