//! The load client against a real server: a small run must be clean.

use crate::common::*;
use roomcore_server::load::{self, LoadConfig};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_load_run_is_clean_and_leaves_nothing_behind() {
    let srv = server().await;
    let cfg = LoadConfig {
        url: srv.ws_url(),
        clients: 20,
        duration: Duration::from_millis(700),
        rooms: 6,
        seed: 3,
        prefix: "t".into(),
        connect_parallelism: 8,
        think: Duration::from_millis(1),
    };
    let report = load::run(&cfg).await.unwrap();
    assert!(report.clean(), "{report:?}");
    assert!(report.commands >= 20, "{report:?}");
    assert!(report.p50_us <= report.p99_us && report.p99_us <= report.max_us);
    // Every client logged out at the end.
    srv.wait_stats("sessions gone", |s| s["sessions"] == 0)
        .await;
}
