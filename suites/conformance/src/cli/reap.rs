//! `wasmcloud-conformance reap`: cleans up after runs that were killed (SIGKILL, a crash, a
//! cancelled CI job), without starting another one. What a live run owns is never touched: it
//! cleans up after itself, and stopping it (Ctrl-C, or SIGKILL and then `reap`) is the way to
//! end it early.

/// Runs the harness's reapers once and prints what they removed.
pub(crate) fn run() {
    let report = harness::reap_dead_runs();
    print!("{}", render(&report));
}

fn line(out: &mut String, verb: &str, what: &str, names: &[String]) {
    out.push_str(&format!("{verb} {} {what}", names.len()));
    if !names.is_empty() {
        out.push_str(&format!(": {}", names.join(", ")));
    }
    out.push('\n');
}

/// The report, one line per kind of resource.
fn render(report: &harness::ReapReport) -> String {
    let mut out =
        String::from("wasmcloud-conformance reap: resources of runs whose process is gone\n");
    line(&mut out, "killed", "process(es)", &report.processes);
    let dirs: Vec<String> = report
        .dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    line(&mut out, "removed", "scratch directory(ies)", &dirs);
    match &report.engine {
        Ok(()) => {
            line(&mut out, "removed", "container(s)", &report.containers);
            line(&mut out, "removed", "network(s)", &report.networks);
            line(&mut out, "removed", "volume(s)", &report.volumes);
        }
        Err(why) => out.push_str(&format!(
            "Docker engine not checked: {why} (containers, networks and volumes of dead runs, if any, are still there)\n"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_what_was_removed_and_an_unchecked_engine() {
        let report = harness::ReapReport {
            processes: vec!["wasmcloud (pid 7)".into()],
            dirs: vec!["/tmp/wcc-x".into()],
            containers: vec![],
            networks: vec![],
            volumes: vec![],
            engine: Err("no Docker engine answers".into()),
        };
        let text = render(&report);
        assert!(
            text.contains("killed 1 process(es): wasmcloud (pid 7)"),
            "{text}"
        );
        assert!(
            text.contains("removed 1 scratch directory(ies): /tmp/wcc-x"),
            "{text}"
        );
        assert!(
            text.contains("Docker engine not checked: no Docker engine answers"),
            "{text}"
        );
        assert!(!text.contains("container(s)"), "{text}");
    }
}
