//! CPU time of a process, read from `/proc/PID/stat` (user + system, in clock ticks), so that
//! the tool can report a server's CPU per request without profiling it.

use std::time::Duration;

/// Clock ticks per second on Linux (`sysconf(_SC_CLK_TCK)` is 100 on every architecture
/// flowd runs on).
const TICKS_PER_SECOND: u64 = 100;

/// The CPU time `pid` has used so far; `None` if its `stat` cannot be read (another OS, a
/// process that has ended).
pub(crate) fn used(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after the last `)`.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn the_own_process_has_used_some_cpu_and_more_after_work() {
        let pid = std::process::id();
        let before = super::used(pid).unwrap();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(150) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(super::used(pid).unwrap() > before);
        assert!(super::used(u32::MAX).is_none());
    }
}
