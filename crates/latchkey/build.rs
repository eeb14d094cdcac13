//! Enables the PostgreSQL variants of the CLI and server tests when
//! `LATCHKEY_TEST_POSTGRES_URL` is set at build time, so that without a PostgreSQL
//! server they are absent rather than skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=LATCHKEY_TEST_POSTGRES_URL");
    if std::env::var_os("LATCHKEY_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
