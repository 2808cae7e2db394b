//! The report: every figure with its unit, its goal and whether it was met, as `report.json` and as
//! `report.md` beside the SVG plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

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
