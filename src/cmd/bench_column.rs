//! `calimap bench column`: throughput of the column model on one core.

use std::path::PathBuf;

use clap::Args;

use crate::column::bench::column_throughput;
use crate::column::tables::{read_toml, GeneralParams, SoilTable, VegTable};

/// Arguments of `calimap bench column`.
#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Synthetic years timed per step length.
    #[arg(long, default_value_t = 3)]
    pub years: usize,
    /// Timed repetitions per step length: the fastest and the median are reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Folder with the model tables (soil.toml, vegetation.toml, general.toml).
    #[arg(long)]
    pub tables: Option<PathBuf>,
}

/// Run `calimap bench column`.
pub fn run(args: ColumnArgs) -> anyhow::Result<()> {
    let dir = args
        .tables
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/noah-tibet"));
    let soil: SoilTable = read_toml(&dir.join("soil.toml"))?;
    let veg: VegTable = read_toml(&dir.join("vegetation.toml"))?;
    let gen: GeneralParams = read_toml(&dir.join("general.toml"))?;
    println!(
        "20-layer column, one core, synthetic plateau year ({} years timed per step length, {} repeats)",
        args.years,
        args.repeats.max(1)
    );
    println!("machine: {}", machine());
    println!("load average before: {}", load_average());
    let times_before = cpu_times();
    for (label, dt) in [("daily", 86400.0), ("3-hourly", 10800.0)] {
        let mut runs = Vec::new();
        for _ in 0..args.repeats.max(1) {
            runs.push(column_throughput(&soil, &veg, &gen, dt, args.years)?);
        }
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let best = runs[0];
        let median = runs[runs.len() / 2];
        println!(
            "{label:>9}: {:>10.0} column-steps/s, {:>8.2} us per column-step (fastest of {}; median {:.2} us; {} steps per run; {:.2} heat iterations per step)",
            best.steps_per_second(),
            best.micros_per_step(),
            runs.len(),
            median.micros_per_step(),
            best.steps,
            best.heat_iterations,
        );
    }
    println!("load average after: {}", load_average());
    if let (Some(a), Some(b)) = (times_before, cpu_times()) {
        if let Some(share) = a.steal_share_until(&b) {
            println!(
                "steal time during the runs: {:.1} % of the machine's CPU time (time the hypervisor gave to others)",
                100.0 * share
            );
        }
    }
    Ok(())
}

/// The processor's model name and the number of logical cores (Linux).
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{}, {} logical cores available",
        model.unwrap_or_else(|| "unknown processor".into()),
        cores
    )
}

/// Cumulative CPU time of all cores from the first line of /proc/stat, in
/// clock ticks: all states, and the steal time within them.
#[derive(Clone, Copy, Debug)]
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    /// The share of the CPU time between `self` and `later` that was stolen.
    fn steal_share_until(&self, later: &CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let steal = later.steal.checked_sub(self.steal)?;
        (total > 0).then(|| steal as f64 / total as f64)
    }
}

fn cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_times(stat.lines().next()?)
}

/// Parse `cpu  user nice system idle iowait irq softirq steal ...`; guest
/// times are already counted in user and nice, so only the first eight
/// fields are summed.
fn parse_cpu_times(line: &str) -> Option<CpuTimes> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if values.len() < 8 {
        return None;
    }
    Some(CpuTimes {
        total: values.iter().sum(),
        steal: values[7],
    })
}

/// The 1, 5 and 15 minute load averages of the machine (Linux), for judging
/// how much the timings were disturbed by other work.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_parse_the_aggregate_line_and_give_the_steal_share() {
        let a = parse_cpu_times("cpu  100 5 50 800 10 0 5 30 7 0").unwrap();
        assert_eq!((a.total, a.steal), (1000, 30));
        let b = parse_cpu_times("cpu  300 5 70 1400 10 0 5 210 9 0").unwrap();
        assert_eq!((b.total, b.steal), (2000, 210));
        assert!((a.steal_share_until(&b).unwrap() - 0.18).abs() < 1e-12);
        // A per-core line, a short line and garbage are not the aggregate.
        assert!(parse_cpu_times("cpu0 1 2 3 4 5 6 7 8").is_none());
        assert!(parse_cpu_times("cpu  1 2 3").is_none());
        assert!(parse_cpu_times("cpu  1 2 x 4 5 6 7 8").is_none());
        // Counters that went backwards give no share.
        assert!(b.steal_share_until(&a).is_none());
    }
}
