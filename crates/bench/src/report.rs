//! The report: the machine it ran on, medians, and the section of `BENCHMARKS.md` a
//! run rewrites (every other section stays as it is).

use anyhow::Context;

/// `old` with its generated section `heading` replaced by `report` (which starts with
/// `heading`); every other section (other stores' pasted runs, the analysis) stays.
fn replace_section(old: &str, heading: &str, report: &str) -> String {
    let Some(start) = old.find(heading) else {
        return format!(
            "# Benchmarks\n\n{report}\n{}",
            old.trim_start_matches("# Benchmarks").trim_start()
        );
    };
    let rest = &old[start + heading.len()..];
    let end = rest.find("\n## ").map_or(old.len(), |i| start + heading.len() + i + 1);
    format!("{}{report}\n{}", &old[..start], &old[end..])
}

/// Prints `report` and, with `output`, writes it over the file's section `heading`.
pub fn publish(report: &str, heading: &str, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    println!("{report}");
    if let Some(path) = output {
        let old = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, replace_section(&old, heading, report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("written to {}", path.display());
    }
    Ok(())
}

/// The median of `runs` (the upper one of an even count).
pub fn median(runs: &[f64]) -> f64 {
    let mut v = runs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The machine in one line: CPU model, the cores this process may use, memory.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = latchkey::cpus::available();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {mem:.0} GiB")
}

/// A directory of this run's own under the system's temporary directory.
pub fn scratch_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    const SECTION: &str = "## Login and records throughput";

    #[test]
    fn output_rewrites_only_its_own_section() {
        let old = "# Benchmarks\n\n## Login and records throughput\n\nold table\n\n## On PostgreSQL\n\npg\n\n## Analysis\n\nwhy\n";
        let new = replace_section(old, SECTION, "## Login and records throughput\n\nnew table\n");
        assert_eq!(
            new,
            "# Benchmarks\n\n## Login and records throughput\n\nnew table\n\n## On PostgreSQL\n\npg\n\n## Analysis\n\nwhy\n"
        );
        assert_eq!(
            replace_section("", SECTION, "## Login and records throughput\n\nt\n"),
            "# Benchmarks\n\n## Login and records throughput\n\nt\n\n"
        );
    }
}
