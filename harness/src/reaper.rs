//! Removes what a dead run left behind.
//!
//! Children already die with their parent (`PR_SET_PDEATHSIG`), but what *they* started (provider
//! processes of a host: the host spawns them in its own process group, without a death signal)
//! survives a SIGKILL of the test process, and so does the lattice's log directory. Every process
//! group the harness starts is recorded under `<tmp>/wcc-reaper/<owner pid>/<group id>` with the
//! group leader's start time, every log directory as `dir-<lattice>`.
//!
//! Three things act on the records:
//! - a watchdog (one `/bin/sh` per owner, started with the first group) that sees the owner die
//!   (end of a pipe only the owner holds) and at once kills the groups it had recorded;
//! - [`sweep`], before a lattice starts, which kills and removes what owners that no longer exist
//!   recorded (a backstop when the watchdog itself was killed, and the only one for directories);
//! - [`reap_dead_runs`] (`wasmcloud-conformance reap`), the same plus the Docker resources of dead
//!   owners, without starting anything.
use std::path::PathBuf;
use std::sync::{Once, OnceLock};

use crate::procfs::Stat;

fn root() -> PathBuf {
    std::env::temp_dir().join("wcc-reaper")
}

/// Start time of a process in clock ticks since boot.
fn start_time(pid: i32) -> Option<u64> {
    Stat::of(pid).map(|s| s.start_time)
}

/// Process group of a process.
fn group_of(pid: i32) -> Option<i32> {
    Stat::of(pid).map(|s| s.group)
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` is a zombie: dead, waiting for its parent to collect it (nothing to kill).
fn zombie(pid: i32) -> bool {
    Stat::of(pid).is_some_and(|s| s.is_zombie())
}

/// `<command name> (pid <pid>)`, for reports.
fn describe(pid: i32) -> String {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    format!("{} (pid {pid})", comm.trim())
}

/// What the watchdog runs: wait for the end of stdin (the owner is gone: only it held the pipe's
/// write end), then SIGKILL every process group still recorded in the owner's directory (`$1`).
/// Terminal signals are ignored, so a Ctrl-C of the owner's group does not take the watchdog
/// along. Between the owner's death and the kill there are milliseconds, too few for a group id
/// of a dead group to be reused (a group with a living member, a provider, keeps its id).
const WATCHDOG_SCRIPT: &str = r#"trap '' INT HUP QUIT PIPE
while read -r _; do :; done
for f in "$1"/*; do
  g=${f##*/}
  case $g in ''|*[!0-9]*) continue ;; esac
  kill -9 -"$g" 2>/dev/null
done
"#;

/// The pid of this process's watchdog, started by the first [`register`] (`None` before, or when
/// it could not start: then only [`sweep`] cleans up after a SIGKILL).
pub fn watchdog_pid() -> Option<u32> {
    WATCHDOG.get().copied().flatten()
}

static WATCHDOG: OnceLock<Option<u32>> = OnceLock::new();

fn start_watchdog() {
    WATCHDOG.get_or_init(|| match spawn_watchdog() {
        Ok(pid) => Some(pid),
        Err(e) => {
            eprintln!("[wcc] cannot start the reaper watchdog ({e}); what a SIGKILLed run leaves is killed by the next run or `wasmcloud-conformance reap`");
            None
        }
    });
}

fn spawn_watchdog() -> std::io::Result<u32> {
    use std::os::fd::{FromRawFd as _, OwnedFd};
    use std::os::unix::process::CommandExt as _;
    let mut fds = [0; 2];
    // SAFETY: plain syscall; close-on-exec, so no other child inherits the write end.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let child = std::process::Command::new("/bin/sh")
        .args(["-c", WATCHDOG_SCRIPT, "wcc-reaper-watchdog"])
        .arg(owner_dir())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::from(read))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()?;
    // Held until this process ends, however it ends: the end of the pipe is the watchdog's cue.
    std::mem::forget(write);
    Ok(child.id())
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
    let dir = owner_dir();
    if std::fs::create_dir_all(&dir).is_ok() {
        let started = start_time(pid).unwrap_or(0);
        let _ = std::fs::write(dir.join(pid.to_string()), started.to_string());
        start_watchdog();
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
    sweep_processes().processes.len()
}

/// What a sweep of dead owners' records killed and removed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Swept {
    /// `<command> (pid <pid>)` of every process killed.
    pub(crate) processes: Vec<String>,
    /// Scratch directories removed.
    pub(crate) dirs: Vec<PathBuf>,
}

fn sweep_processes() -> Swept {
    let mut swept = Swept::default();
    let Ok(owners) = std::fs::read_dir(root()) else {
        return swept;
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
                        && std::fs::remove_dir_all(&dir).is_ok()
                    {
                        swept.dirs.push(dir);
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
            swept
                .processes
                .extend(kill_group_members(group, leader_start));
            let _ = std::fs::remove_file(entry.path());
        }
        let _ = std::fs::remove_dir(owner.path());
    }
    swept
}

/// Kills members of `group` that started no earlier than its recorded leader (so a reused group
/// id of an unrelated, older process group is left alone). Returns who was killed.
fn kill_group_members(group: i32, leader_start: u64) -> Vec<String> {
    let mut killed = Vec::new();
    for proc_entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = proc_entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if group_of(pid) == Some(group)
            && start_time(pid).is_some_and(|t| t >= leader_start)
            && !zombie(pid)
        {
            let who = describe(pid);
            // SAFETY: plain syscall.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed.push(who);
            }
        }
    }
    killed
}

/// What [`reap_dead_runs`] removed.
#[derive(Clone, Debug)]
pub struct ReapReport {
    /// Processes of dead owners' recorded groups that were killed, as `<command> (pid <pid>)`.
    pub processes: Vec<String>,
    /// Scratch (log) directories of dead owners that were removed.
    pub dirs: Vec<PathBuf>,
    /// Containers labelled `wcc.owner` with a dead owner that were removed (names).
    pub containers: Vec<String>,
    /// Networks of dead owners that were removed.
    pub networks: Vec<String>,
    /// Volumes of dead owners that were removed.
    pub volumes: Vec<String>,
    /// `Err(why)` when the Docker engine was not checked (none answers, or the harness was built
    /// without the `containers` feature).
    pub engine: Result<(), String>,
}

/// Cleans up after harness runs whose process is gone (SIGKILLed, crashed), without starting
/// anything: kills the process groups they recorded, removes their scratch directories, and
/// removes the Docker containers, networks and volumes whose `wcc.owner` no longer runs. What
/// belongs to a live owner is never touched. Safe to run at any time, also next to other runs.
pub fn reap_dead_runs() -> ReapReport {
    let Swept { processes, dirs } = sweep_processes();
    let mut report = ReapReport {
        processes,
        dirs,
        containers: Vec::new(),
        networks: Vec::new(),
        volumes: Vec::new(),
        engine: Ok(()),
    };
    #[cfg(feature = "containers")]
    match crate::containers::sweep_detailed() {
        Ok(removed) => {
            report.containers = removed.containers;
            report.networks = removed.networks;
            report.volumes = removed.volumes;
            report.engine = Ok(());
        }
        Err(why) => report.engine = Err(why),
    }
    #[cfg(not(feature = "containers"))]
    {
        report.engine = Err("the harness was built without the `containers` feature".into());
    }
    report
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
    fn the_watchdog_kills_the_recorded_groups_when_its_pipe_ends() {
        use std::io::Write as _;
        use std::os::unix::process::CommandExt as _;
        // A group whose leader is gone and whose member lives on (a host and its provider).
        let mut group = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 30 & echo $!"])
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let leader = group.id() as i32;
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(group.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        group.wait().unwrap();
        let member: i32 = line.trim().parse().unwrap();
        assert_eq!(group_of(member), Some(leader));
        let owner = tempfile::tempdir().unwrap();
        std::fs::write(owner.path().join(leader.to_string()), "0").unwrap();
        std::fs::write(owner.path().join("dir-x"), "/nowhere").unwrap();
        let mut watchdog = std::process::Command::new("/bin/sh")
            .args(["-c", WATCHDOG_SCRIPT, "wcc-reaper-watchdog"])
            .arg(owner.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = watchdog.stdin.take().unwrap();
        stdin.write_all(b"still here\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(alive(member), "the watchdog acts only once the pipe ends");
        drop(stdin);
        assert!(watchdog.wait().unwrap().success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // Not our child: gone from /proc once init reaps it.
        while alive(member) && group_of(member) == Some(leader) {
            assert!(
                std::time::Instant::now() < deadline,
                "the watchdog left {member} alive"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
