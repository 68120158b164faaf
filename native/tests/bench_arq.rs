//! `p2mp bench --arq` end to end on a small file: one cell per mode, the references and the
//! target lines print, and every transfer verified its copies (a mismatch makes the command fail).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");
const LIMIT: Duration = Duration::from_secs(180);

#[test]
fn arq_bench_prints_one_verified_row_per_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(P2MP)
        .args(["bench", "--arq", "--size", "300000", "--ns", "2", "--losses", "0.05", "--window", "16"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("p2mp bench --arq did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_path).unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("goodput MB/s"), "{out}");
    assert!(out.contains("blast MB/s"), "{out}");
    assert!(out.contains("Not measured here"), "{out}");
    for mode in ["stop-and-wait", "go-back-n", "selective-repeat"] {
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(mode)).collect();
        assert_eq!(rows.len(), 1, "one {mode} row expected:\n{out}");
        assert!(rows[0].ends_with("2/2 ok"), "{mode} copies not verified:\n{out}");
    }
    let reference: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("2 ")).collect();
    assert_eq!(reference.len(), 1, "one reference row for n = 2 expected:\n{out}");
    assert!(out.contains("Targets of issue 7"), "{out}");
    assert!(out.contains("not measured (p = 0, n = 3 not in the grid)"), "{out}");
    common::assert_floor_pairs(&out, "loopback", 2, "same-runtime (tokio tasks)");
}
