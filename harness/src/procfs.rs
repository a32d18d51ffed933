//! What Linux's `/proc/<pid>/stat` says of a process: its state, parent, process group and start
//! time.
//! The one reader of that file in the harness (reaper, container ownership, teardown waits).

/// The fields of `/proc/<pid>/stat` the harness uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// The state letter (field 3): `R`, `S`, `D`, `Z` (zombie), `T`, …
    pub state: char,
    /// The parent's pid (field 4).
    pub parent: i32,
    /// The process group (field 5).
    pub group: i32,
    /// The start time in clock ticks since boot (field 22).
    pub start_time: u64,
}

impl Stat {
    /// The stat of `pid`; `None` when there is no such process (or the file cannot be read).
    pub fn of(pid: i32) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// Parses the text of a stat file. The command name (field 2) may hold spaces and
    /// parentheses, so the fields after it are counted from its last `)`.
    pub fn parse(stat: &str) -> Option<Self> {
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(Self {
            state: fields.first()?.chars().next()?,
            parent: fields.get(1)?.parse().ok()?,
            group: fields.get(2)?.parse().ok()?,
            start_time: fields.get(19)?.parse().ok()?,
        })
    }

    /// A zombie: dead, waiting for its parent to collect it (it holds nothing any more).
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Whether `pid` is gone or a zombie: nothing of it runs any more.
pub fn gone(pid: i32) -> bool {
    Stat::of(pid).is_none_or(|s| s.is_zombie())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_count_from_the_last_parenthesis() {
        let text = "4242 (a (weird) name) Z 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        let s = Stat::parse(text).unwrap();
        assert_eq!(s.state, 'Z');
        assert_eq!(s.parent, 1);
        assert_eq!(s.group, 4240);
        assert_eq!(s.start_time, 987654);
        assert!(s.is_zombie());
        assert_eq!(Stat::parse("garbage"), None);
        assert_eq!(Stat::parse("1 (x) S 1"), None);
    }

    #[test]
    fn this_process_runs_and_a_missing_one_is_gone() {
        let me = Stat::of(std::process::id() as i32).unwrap();
        assert!(!me.is_zombie());
        assert!(me.start_time > 0);
        assert!(!gone(std::process::id() as i32));
        assert!(gone(i32::MAX));
    }
}
