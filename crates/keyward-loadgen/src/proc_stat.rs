//! CPU time from Linux's `/proc`: a process's user + system time (`/proc/PID/stat`), the whole
//! machine's busy time (`/proc/stat`), and the clock tick they are counted in.

use std::process::Command;

use anyhow::{Context, bail};

/// A process to read: ours or another one.
#[derive(Debug, Clone, Copy)]
pub enum Process {
    /// The load generator itself.
    Me,
    /// Another process, by pid.
    Pid(u32),
}

/// CPU time counted in clock ticks (`CLK_TCK` per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ticks(pub u64);

impl Ticks {
    /// The ticks between two readings (zero if the counter went backwards).
    pub fn since(self, earlier: Ticks) -> Ticks {
        Ticks(self.0.saturating_sub(earlier.0))
    }

    /// As seconds, given the ticks per second.
    pub fn seconds(self, clock: ClockTicks) -> f64 {
        self.0 as f64 / clock.0 as f64
    }
}

/// `CLK_TCK`: ticks per second of the counters in `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTicks(pub u64);

impl ClockTicks {
    /// Asks `getconf CLK_TCK` (the standard library has no `sysconf`, and we take no libc).
    pub fn get() -> anyhow::Result<Self> {
        let out = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .context("cannot run getconf CLK_TCK")?;
        if !out.status.success() {
            bail!("getconf CLK_TCK failed with {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => bail!("getconf CLK_TCK printed {:?}, not a positive number", text.trim()),
        }
    }
}

/// User + system time of a process (all its threads).
pub fn process_cpu(process: Process) -> anyhow::Result<Ticks> {
    let path = match process {
        Process::Me => "/proc/self/stat".to_owned(),
        Process::Pid(pid) => format!("/proc/{pid}/stat"),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_process_stat(&text).with_context(|| format!("{path} does not have the expected fields"))
}

/// `utime + stime` from the text of `/proc/PID/stat`.
///
/// The second field, the command name, is in parentheses and may itself hold spaces and
/// parentheses, so the fields are counted from the last `)`: after it come `state` (field 3),
/// ..., `utime` (field 14) and `stime` (field 15).
pub fn parse_process_stat(text: &str) -> Option<Ticks> {
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Ticks(utime + stime))
}

/// The machine's CPU time: busy (every state but idle and iowait) and total, over all cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineCpu {
    /// Ticks spent running anything.
    pub busy: Ticks,
    /// All ticks, idle included.
    pub total: Ticks,
}

/// Reads the machine's CPU time.
pub fn machine_cpu() -> anyhow::Result<MachineCpu> {
    let text = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    parse_machine_stat(&text).context("/proc/stat has no aggregate cpu line")
}

/// The aggregate `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal
/// (guest time is already counted in user).
pub fn parse_machine_stat(text: &str) -> Option<MachineCpu> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    if values.len() < 4 {
        return None;
    }
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    let total: u64 = values.iter().sum();
    Some(MachineCpu {
        busy: Ticks(total - idle),
        total: Ticks(total),
    })
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stat_counts_fields_after_the_name() {
        // A real line from a keyward server (fields 14 and 15 are 1234 and 56).
        let line = "4242 (keyward) S 1 4242 4242 0 -1 4194560 1714 0 0 0 1234 56 0 0 20 0 3 0 1000 \
                    238692352 8107 18446744073709551615 1 1 0 0 0 0 0 4096 17728 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_process_stat(line), Some(Ticks(1290)));
    }

    #[test]
    fn process_name_may_hold_spaces_and_parentheses() {
        let line = "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_process_stat(line), Some(Ticks(30)));
    }

    #[test]
    fn short_or_garbled_process_stat_is_none() {
        assert_eq!(parse_process_stat("7 (a) R 1 2"), None);
        assert_eq!(parse_process_stat("no parenthesis at all"), None);
        assert_eq!(parse_process_stat("7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 20"), None);
    }

    #[test]
    fn machine_stat_busy_excludes_idle_and_iowait() {
        let text = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 1 2 3\n";
        let cpu = parse_machine_stat(text).expect("cpu line");
        assert_eq!(cpu.total, Ticks(1181));
        assert_eq!(cpu.busy, Ticks(161));
    }

    #[test]
    fn ticks_since_and_seconds() {
        assert_eq!(Ticks(350).since(Ticks(100)), Ticks(250));
        assert_eq!(Ticks(1).since(Ticks(5)), Ticks(0));
        assert!((Ticks(250).seconds(ClockTicks(100)) - 2.5).abs() < 1e-12);
    }
}
