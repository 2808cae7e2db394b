//! The report: every figure with its unit, its goal and whether it was met, as `report.json` and as
//! `report.md` beside the SVG plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};
use serde::Serialize;

/// The server's figures (measurements 1 to 4 and 6 of the benchmark issue), as `server.rs` adds them.
const SERVER_KEYS: &[&str] = &[
    "argon2_bound",
    "primary_sign_in_p50",
    "primary_sign_in_p99",
    "cold_app_sign_in",
    "cold_to_bound",
    "cached_app_sign_in",
    "cached_app_sign_in_p50",
    "cached_app_sign_in_p99",
    "cached_ldap_bind",
    "cached_ldap_bind_p50",
    "cached_ldap_bind_p99",
    "ldap_to_whoami",
    "list_p50",
    "list_p99",
    "create_p50",
    "create_p99",
    "revoke_p50",
    "revoke_p99",
    "server_peak_memory",
];

/// Each stored-rows set's figures (measurement 5), as `rows_{count}_{suffix}`; the ratio against the first set
/// comes with every set but the first.
const ROWS_SUFFIXES: &[&str] = &["start", "p50", "p99", "db"];

/// Cached app sign-in on PostgreSQL with one and two instances (`instances.rs`), when a run has PostgreSQL.
const POSTGRES_KEYS: &[&str] = &[
    "pg_cached_app_sign_in",
    "pg_cached_app_sign_in_p99",
    "pg_two_instances_cached_app_sign_in",
    "pg_two_instances_cached_app_sign_in_p99",
    "pg_two_instances_to_one",
];

/// The app's figures (measurements 7 to 9): `desktop.rs`, and the binary's size from `main.rs`.
const DESKTOP_KEYS: &[&str] = &[
    "baseline_launch",
    "app_launch",
    "baseline_launch_median",
    "app_launch_median",
    "baseline_page",
    "app_page",
    "launch_ratio",
    "baseline_memory",
    "app_memory",
    "memory_ratio",
    "create_to_reveal",
    "create_to_reveal_slowest",
    "app_binary",
];

/// What a run measured, and so which figures it owes.
pub struct Measured<'a> {
    /// The server's figures (not with `--desktop-only`).
    pub server: bool,
    /// The PostgreSQL instances' figures (`--postgres`, with the server's).
    pub postgres: bool,
    /// The app's figures (not with `--server-only`).
    pub desktop: bool,
    /// The stored app passwords of each rows set at this scale (`--quick` measures smaller sets).
    pub rows: &'a [usize],
}

impl Measured<'_> {
    /// Every figure's key such a run must produce.
    pub fn required_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        if self.server {
            keys.extend(SERVER_KEYS.iter().map(|k| (*k).to_owned()));
            for (n, rows) in self.rows.iter().enumerate() {
                keys.extend(ROWS_SUFFIXES.iter().map(|s| format!("rows_{rows}_{s}")));
                if n > 0 {
                    keys.push(format!("rows_{rows}_ratio"));
                }
            }
            if self.postgres {
                keys.extend(POSTGRES_KEYS.iter().map(|k| (*k).to_owned()));
            }
        }
        if self.desktop {
            keys.extend(DESKTOP_KEYS.iter().map(|k| (*k).to_owned()));
        }
        keys
    }
}

#[derive(Clone, Copy, Debug, Serialize)]
pub enum Goal {
    #[serde(rename = "<")]
    Below(f64),
    #[serde(rename = ">=")]
    AtLeast(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::Below(limit) => value < limit,
            Goal::AtLeast(floor) => value >= floor,
        }
    }

    fn describe(self, unit: &str) -> String {
        match self {
            Goal::Below(limit) => format!("< {} {unit}", number(limit)),
            Goal::AtLeast(floor) => format!("≥ {} {unit}", number(floor)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Figure {
    pub key: String,
    pub what: String,
    pub value: f64,
    pub unit: &'static str,
    pub goal: Option<Goal>,
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub quick: bool,
    pub machine: String,
    pub figures: Vec<Figure>,
    #[serde(skip)]
    pub plots: Vec<(String, String)>,
}

impl Report {
    pub fn new(quick: bool) -> Self {
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            quick,
            machine: machine(),
            figures: Vec::new(),
            plots: Vec::new(),
        }
    }

    pub fn add(&mut self, key: &str, what: &str, value: f64, unit: &'static str, goal: Option<Goal>) {
        let met = goal.map(|g| g.met(value));
        println!(
            "bench: {what}: {} {unit}{}",
            number(value),
            match (goal, met) {
                (Some(goal), Some(true)) => format!(" (goal {}: met)", goal.describe(unit)),
                (Some(goal), _) => format!(" (goal {}: MISSED)", goal.describe(unit)),
                _ => String::new(),
            }
        );
        self.figures.push(Figure {
            key: key.to_owned(),
            what: what.to_owned(),
            value,
            unit,
            goal,
            met,
        });
    }

    pub fn value(&self, key: &str) -> Option<f64> {
        self.figures.iter().find(|f| f.key == key).map(|f| f.value)
    }

    /// Fails, naming each one, when a figure `measured` owes is missing or any figure is not a finite number
    /// above zero (every figure here is a time, a rate, a size or a ratio of them: a zero or a NaN means a
    /// measurement that did not happen, whatever its goal says).
    pub fn check_complete(&self, measured: &Measured) -> Result<()> {
        let mut faults: Vec<String> = measured
            .required_keys()
            .into_iter()
            .filter(|key| self.value(key).is_none())
            .map(|key| format!("{key} is missing"))
            .collect();
        faults.extend(
            self.figures
                .iter()
                .filter(|f| !(f.value.is_finite() && f.value > 0.0))
                .map(|f| format!("{} is {} ({})", f.key, f.value, f.what)),
        );
        if !faults.is_empty() {
            bail!("the benchmark did not produce every figure: {}", faults.join("; "));
        }
        Ok(())
    }

    /// A figure the plots need: refused when missing, rather than drawn as a zero.
    pub fn plotted(&self, key: &str) -> Result<f64> {
        match self.value(key) {
            Some(value) => Ok(value),
            None => bail!("the plots need the figure {key}, which this run did not produce"),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)? + "\n")?;
        let mut md = String::new();
        writeln!(md, "# Keyturn benchmark report\n")?;
        writeln!(
            md,
            "{}{}, {}\n",
            self.date,
            if self.quick { " (quick scale)" } else { "" },
            self.machine
        )?;
        writeln!(md, "| figure | value | goal | met |\n|---|---|---|---|")?;
        for f in &self.figures {
            writeln!(
                md,
                "| {} | {} {} | {} | {} |",
                f.what,
                number(f.value),
                f.unit,
                f.goal.map(|g| g.describe(f.unit)).unwrap_or_default(),
                match f.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            )?;
        }
        for (title, file) in &self.plots {
            writeln!(md, "\n## {title}\n\n![{title}]({file})")?;
        }
        std::fs::write(dir.join("report.md"), md)?;
        Ok(())
    }
}

/// A figure as people read it: no more digits than it means.
pub fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The CPU model, the cores and the memory, from /proc.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory_gib:.0} GiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK_ROWS: &[usize] = &[1_000, 10_000];

    fn measured(postgres: bool) -> Measured<'static> {
        Measured {
            server: true,
            postgres,
            desktop: true,
            rows: QUICK_ROWS,
        }
    }

    /// A report with every figure `measured` owes, each 1.0.
    fn complete(measured: &Measured) -> Report {
        let mut report = Report::new(true);
        for key in measured.required_keys() {
            report.add(&key, &key, 1.0, "ms", None);
        }
        report
    }

    #[test]
    fn a_report_with_every_figure_passes() {
        let measured = measured(true);
        complete(&measured).check_complete(&measured).unwrap();
    }

    #[test]
    fn a_report_missing_one_figure_fails_and_names_it() {
        let measured = measured(false);
        let mut report = complete(&measured);
        report.figures.retain(|f| f.key != "rows_10000_ratio");
        let error = report.check_complete(&measured).unwrap_err().to_string();
        assert!(error.contains("rows_10000_ratio is missing"), "{error}");
    }

    #[test]
    fn a_nan_an_infinity_a_zero_or_a_negative_figure_fails_and_is_named() {
        let measured = measured(false);
        for bad in [f64::NAN, f64::INFINITY, 0.0, -1.0] {
            let mut report = complete(&measured);
            report
                .figures
                .iter_mut()
                .find(|f| f.key == "memory_ratio")
                .unwrap()
                .value = bad;
            let error = report.check_complete(&measured).unwrap_err().to_string();
            assert!(error.contains(&format!("memory_ratio is {bad}")), "{error}");
        }
    }

    #[test]
    fn the_quick_scale_owes_its_own_row_sets_and_the_first_has_no_ratio() {
        let keys = measured(false).required_keys();
        for key in ["rows_1000_p50", "rows_1000_db", "rows_10000_start", "rows_10000_ratio"] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
        assert!(!keys
            .iter()
            .any(|k| k == "rows_1000_ratio" || k.starts_with("rows_1000000")));
        assert!(
            !keys.iter().any(|k| k.starts_with("pg_")),
            "no PostgreSQL, no pg_ figures"
        );
    }

    #[test]
    fn a_desktop_only_run_owes_the_app_figures_alone() {
        let desktop = Measured {
            server: false,
            postgres: false,
            desktop: true,
            rows: QUICK_ROWS,
        };
        assert_eq!(desktop.required_keys(), DESKTOP_KEYS);
    }

    #[test]
    fn the_plots_refuse_a_missing_figure() {
        let report = Report::new(true);
        let error = report.plotted("list_p99").unwrap_err().to_string();
        assert!(error.contains("list_p99"), "{error}");
    }
}
