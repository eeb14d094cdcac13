//! The harness runs end to end and reports every figure. No timing is asserted: speed
//! is shown by running it, as `BENCHMARKS.md` records.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// A scratch directory with the suite's cheap hashing in its `latchkey.toml`, where
/// `latchkey-bench` runs.
struct Bench {
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("latchkey.toml"),
            "[hashing]\nmemory_kib = 64\niterations = 1\nparallelism = 1\nconcurrency = 2\n",
        )
        .expect("write config");
        Self { dir }
    }

    /// Runs `latchkey-bench ARGS…` and returns its standard output; it must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey-bench"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("LATCHKEY_DATABASE_URL")
            .env_remove("LATCHKEY_CONFIG")
            .output()
            .expect("latchkey-bench runs");
        assert!(
            out.status.success(),
            "latchkey-bench {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The throughput benchmark reports every figure, and a locked user's rejections cost
/// no hash.
#[test]
fn throughput_reports_every_figure() {
    let bench = Bench::new();
    let out = bench.dir.path().join("bench.md");
    let report = bench.ok(&[
        "throughput",
        "--runs",
        "1",
        "--seconds",
        "0.3",
        "--connections",
        "4",
        "--output",
        out.to_str().unwrap(),
    ]);
    for figure in [
        "(a) argon2id",
        "(b) OAuth password-grant",
        "(c) client-credentials",
        "(d) rejected logins",
        "(e) peak RSS",
        "(f) HTTP floor",
        "(g) REST GET sobjects/Contact/{id}/s",
        "(h) REST query page of 2,000 records",
        "(i) REST 200-record collection insert",
    ] {
        assert!(report.contains(figure), "{figure} missing:\n{report}");
    }
    assert!(
        report.contains("hashes spent: 0"),
        "rejections of a locked user cost no hash:\n{report}"
    );
    assert!(std::fs::read_to_string(out).unwrap().starts_with("# Benchmarks"));
}

/// The sync benchmark reports every figure, the records each incremental run
/// read, and its own section of the output file, leaving the others untouched.
#[test]
fn sync_reports_every_figure_in_its_own_section() {
    let bench = Bench::new();
    let out = bench.dir.path().join("bench.md");
    std::fs::write(&out, "# Benchmarks\n\n## Login and records throughput\n\nkept\n").unwrap();
    let report = bench.ok(&[
        "sync",
        "--contacts",
        "300",
        "--runs",
        "1",
        "--output",
        out.to_str().unwrap(),
    ]);
    for figure in [
        "(a) peer",
        "(b) initial pull of 300",
        "(c) one login",
        "(d) incremental sync, 10 of 300",
    ] {
        assert!(report.contains(figure), "{figure} missing:\n{report}");
    }
    // The 10 changed contacts and the 10 of the warm-up round (inside the look-back).
    assert!(report.contains("records read: 20;"), "{report}");
    let written = std::fs::read_to_string(out).unwrap();
    assert!(written.contains("## Hub sync on SQLite"), "{written}");
    assert!(written.contains("## Login and records throughput\n\nkept"), "{written}");
}
