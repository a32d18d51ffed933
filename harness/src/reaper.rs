//! Removes what a dead run left behind.
//!
//! Children already die with their parent (`PR_SET_PDEATHSIG`), but what *they* started (provider
//! processes of a host) may survive a SIGKILL of the test process, and so does the lattice's log
//! directory. Every process group the harness starts is recorded under
//! `<tmp>/wcc-reaper/<owner pid>/<group id>` with the group leader's start time, every log
//! directory as `dir-<lattice>`; before a lattice starts, what owners that no longer exist recorded
//! is killed or removed.
use std::path::PathBuf;
use std::sync::Once;

fn root() -> PathBuf {
    std::env::temp_dir().join("wcc-reaper")
}

/// Start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Process group of a process (field 5 of `/proc/<pid>/stat`).
fn group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Makes the child `cmd` starts lead a process group of its own (so killing the group also kills
/// what it started) and die with this process, even when this process is SIGKILLed
/// (`PR_SET_PDEATHSIG`). Record the spawned group with [`register`] so [`sweep`] kills what a
/// dead run left, and [`unregister`] it once killed.
pub fn tie_to_this_process(cmd: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died before prctl: then nobody would kill the child.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Records the process group led by `pid` (started through [`tie_to_this_process`]), to be
/// killed by [`sweep`] if this process dies without killing it.
pub fn register(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    let dir = root().join(std::process::id().to_string());
    if std::fs::create_dir_all(&dir).is_ok() {
        let started = start_time(pid).unwrap_or(0);
        let _ = std::fs::write(dir.join(pid.to_string()), started.to_string());
    }
}

fn owner_dir() -> PathBuf {
    root().join(std::process::id().to_string())
}

/// Records a lattice's scratch directory, removed if this process dies without cleaning up.
pub(crate) fn register_dir(lattice: &str, dir: &std::path::Path) {
    let owner = owner_dir();
    if std::fs::create_dir_all(&owner).is_ok() {
        let _ = std::fs::write(
            owner.join(format!("dir-{lattice}")),
            dir.as_os_str().as_encoded_bytes(),
        );
    }
}

/// Forgets a scratch directory (removed by its owner, or kept on purpose).
pub(crate) fn unregister_dir(lattice: &str) {
    let owner = owner_dir();
    let _ = std::fs::remove_file(owner.join(format!("dir-{lattice}")));
    let _ = std::fs::remove_dir(owner);
}

/// Forgets a process group recorded by [`register`] (it was killed by its owner).
pub fn unregister(pid: u32) {
    let dir = root().join(std::process::id().to_string());
    let _ = std::fs::remove_file(dir.join(pid.to_string()));
    let _ = std::fs::remove_dir(dir); // only succeeds once empty
}

/// Kills the process groups recorded by owners that are gone. Runs once per process.
pub(crate) fn sweep_once() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| {
        let killed = sweep();
        if killed > 0 {
            eprintln!("[wcc] reaped {killed} leftover process(es) of dead runs");
        }
    });
}

/// Kills the processes and removes the scratch directories of harness runs that died without
/// cleaning up (e.g. a SIGKILLed test process). Returns how many processes were killed. Runs
/// automatically before the first lattice of a process starts.
pub fn sweep() -> usize {
    let mut killed = 0;
    let Ok(owners) = std::fs::read_dir(root()) else {
        return 0;
    };
    for owner in owners.flatten() {
        let Some(owner_pid) = owner
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if alive(owner_pid) {
            continue;
        }
        for entry in std::fs::read_dir(owner.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.starts_with("dir-")) {
                if let Ok(dir) = std::fs::read_to_string(entry.path()) {
                    let dir = PathBuf::from(dir);
                    // Only scratch directories the harness made (`<tmp>/wcc-…`) are removed.
                    if dir.starts_with(std::env::temp_dir())
                        && dir
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("wcc-"))
                    {
                        let _ = std::fs::remove_dir_all(dir);
                    }
                }
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some(group) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let leader_start: u64 = std::fs::read_to_string(entry.path())
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            killed += kill_group_members(group, leader_start);
            let _ = std::fs::remove_file(entry.path());
        }
        let _ = std::fs::remove_dir(owner.path());
    }
    killed
}

/// Kills members of `group` that started no earlier than its recorded leader (so a reused group
/// id of an unrelated, older process group is left alone).
fn kill_group_members(group: i32, leader_start: u64) -> usize {
    let mut killed = 0;
    for proc_entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = proc_entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if group_of(pid) == Some(group) && start_time(pid).is_some_and(|t| t >= leader_start) {
            // SAFETY: plain syscall.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_fields_are_readable() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some());
        assert!(group_of(me).is_some());
        assert!(alive(me));
    }

    #[test]
    fn scratch_dirs_of_a_dead_owner_are_removed() {
        let scratch = tempfile::Builder::new()
            .prefix("wcc-test-")
            .tempdir()
            .unwrap()
            .keep();
        let dir = root().join("999999998");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("dir-wcc-test"),
            scratch.as_os_str().as_encoded_bytes(),
        )
        .unwrap();
        sweep();
        assert!(!scratch.exists() && !dir.exists());
    }

    #[test]
    fn orphans_of_a_dead_owner_are_killed() {
        // A fake dead owner (pid beyond pid_max is never alive) that "left" a sleeping group.
        use std::os::unix::process::CommandExt as _;
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let dir = root().join("999999999");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(pid.to_string()),
            start_time(pid).unwrap().to_string(),
        )
        .unwrap();
        assert!(sweep() >= 1);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!dir.exists());
    }
}
