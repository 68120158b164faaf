//! Real transfers through the UDP impairment proxy, one impairment at a time and all combined,
//! three receivers, both dialects, and all combined under go-back-n and selective repeat: every
//! copy is byte-identical, or the failure is reported.

mod common;

use common::*;
use p2mp_core::sim::{LinkConfig, LossModel};
use p2mp_core::{Congestion, Dialect, Mode, SenderConfig};
use p2mp_native::impair::{ImpairConfig, Impairer};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::{Client, ClientConfig, ClientSummary, Console};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::timeout;

const SIZE: u64 = 120_001;

async fn through_proxies(name: &str, link: LinkConfig, dialect: Dialect, seed: u64) {
    let s = run_through(name, link, link, sender(1000, dialect, adaptive(), 40), 0, seed).await;
    assert!(s.all_finished(), "{name}/{dialect}: {}", s.render());
}

/// One transfer to three servers (each buffering `server_window` segments out of order), each
/// behind its own proxy impairing client-to-server datagrams with `link` and the replies with
/// `up`; checks that every finished copy is byte-identical with the same digest and that no
/// failed one left a file that looks complete. The caller decides whether all must finish.
async fn run_through(
    name: &str,
    link: LinkConfig,
    up: LinkConfig,
    sender_cfg: SenderConfig,
    server_window: u32,
    seed: u64,
) -> ClientSummary {
    let dialect = sender_cfg.dialect;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, SIZE, seed).unwrap();
    let mut servers = Vec::new();
    let mut proxies = Vec::new();
    let mut targets = Vec::new();
    let mut outputs = Vec::new();
    for i in 0..3 {
        let (srv, out) =
            windowed_server(i, dir.path(), dialect, 0.0, seed + i as u64, Console::capture(), server_window)
                .await;
        let upstream = srv.local_addr();
        outputs.push(out);
        servers.push(tokio::spawn(srv.run()));
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let proxy =
            Impairer::bind(ImpairConfig { listen, upstream, down: link, up, seed: seed * 31 + i as u64 })
                .await
                .unwrap();
        targets.push(proxy.local_addr());
        proxies.push(tokio::spawn(proxy.run()));
    }
    let client = Client::prepare(
        ClientConfig {
            receivers: targets,
            file: input.clone(),
            sender: sender_cfg,
            bind: None,
            trace_file: None,
        },
        Console::capture(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.expect("bounded").expect("client ran");
    for p in &proxies {
        p.abort();
    }
    for (i, (h, out)) in servers.into_iter().zip(&outputs).enumerate() {
        if summary.receivers[i].outcome == p2mp_core::Outcome::Finished {
            let s = timeout(LIMIT, h).await.expect("bounded").expect("joined").expect("server finished");
            // The end-to-end check that catches what the 16-bit checksum cannot.
            assert_eq!(Some(&s.sha256), summary.sha256.as_ref(), "{name}/{dialect}: digest {i}");
            assert!(files_equal(&input, out).unwrap(), "{name}/{dialect}: receiver {i} has a different file");
        } else {
            // Reported as failed. Its server is stopped (as its idle timeout would, later) and
            // must leave no file that looks complete.
            h.abort();
            let _ = h.await;
            assert!(
                !out.exists() || files_equal(&input, out).unwrap(),
                "{name}/{dialect}: silent partial file"
            );
        }
    }
    assert!(partial_files(dir.path()).is_empty());
    summary
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn base() -> LinkConfig {
    LinkConfig { delay: ms(1), ..LinkConfig::default() }
}

macro_rules! impairment_tests {
    ($($name:ident: $link:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            through_proxies(stringify!($name), $link, Dialect::Binary, 5).await;
            through_proxies(stringify!($name), $link, Dialect::Text, 6).await;
        }
    )*};
}

impairment_tests! {
    drop_bernoulli: LinkConfig { loss: LossModel::Bernoulli { p: 0.1 }, ..base() };
    drop_bursts: LinkConfig {
        loss: LossModel::GilbertElliott { p_good_bad: 0.05, p_bad_good: 0.3, loss_good: 0.0, loss_bad: 0.7 },
        ..base()
    };
    duplication: LinkConfig { duplicate: 0.2, ..base() };
    reordering: LinkConfig { reorder: 0.2, ..base() };
    delay_with_jitter: LinkConfig { delay: ms(3), jitter: ms(4), ..base() };
    bandwidth_limit: LinkConfig { bandwidth_bps: 20_000_000, ..base() };
    bit_corruption: LinkConfig { corrupt: 0.1, ..base() };
    full_queue: LinkConfig { bandwidth_bps: 8_000_000, queue_bytes: 2_000, ..base() };
    everything_at_once: everything();
}

/// Every impairment at once.
fn everything() -> LinkConfig {
    LinkConfig {
        delay: ms(2),
        jitter: ms(2),
        bandwidth_bps: 50_000_000,
        queue_bytes: 64_000,
        loss: LossModel::Bernoulli { p: 0.05 },
        duplicate: 0.05,
        reorder: 0.05,
        corrupt: 0.05,
    }
}

/// The windowed schemes (binary dialect only) with small windows, so that losses, duplicates
/// and reordering land inside a window, through every impairment at once to three receivers:
/// all on the way out; all but bit corruption on the way back (that is
/// [`ack_corruption_under_a_window_still_delivers_every_copy`]).
async fn everything_windowed(mode: Mode, server_window: u32, seed: u64) {
    let cfg = SenderConfig { mode, ..sender(1000, Dialect::Binary, adaptive(), 40) };
    let name = format!("everything at once, {mode:?}");
    let up = LinkConfig { corrupt: 0.0, ..everything() };
    let s = run_through(&name, everything(), up, cfg, server_window, seed).await;
    assert!(s.all_finished(), "{name}: {}", s.render());
    // The impairments acted on this transfer: segments were lost and sent again.
    assert!(s.totals.retransmissions > 0, "{name}: {}", s.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_at_once_go_back_n() {
    everything_windowed(Mode::GoBackN { window: 8 }, 0, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_at_once_selective_repeat() {
    everything_windowed(Mode::SelectiveRepeat { window: 8 }, 8, 9).await;
}

/// Selective repeat to servers without `--window` (classic: cumulative ACKs, nothing kept
/// out of order) with 5% of DATA and 5% of ACKs lost: a segment whose first ACK was lost is
/// answered from then on with repeats of a later ACK, which the client must read as
/// cumulative, or that receiver is declared failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_to_classic_servers_survives_lost_acks() {
    let lossy = LinkConfig { loss: LossModel::Bernoulli { p: 0.05 }, ..base() };
    let cfg = SenderConfig {
        mode: Mode::SelectiveRepeat { window: 8 },
        ..sender(1000, Dialect::Binary, adaptive(), 40)
    };
    let name = "selective repeat to classic servers";
    let s = run_through(name, lossy, lossy, cfg, 0, 21).await;
    assert!(s.all_finished(), "{name}: {}", s.render());
}

/// A bit flip in an ACK's sequence field keeps the ACK valid (its checksum field is zero by
/// definition). Stop-and-wait ignores an ACK for any segment but the one outstanding; a window
/// takes an ACK for any segment in flight, so the client may believe a receiver holds segments
/// it does not. The receiver's later ACKs (its last in-order segment, repeated; a buffering
/// receiver's answer to DATA beyond its window or to a FIN behind a gap) contradict that and
/// the client goes back; before the FIN it resends the last segment to a receiver whose ACKs
/// gave cause for doubt. So with every impairment both ways and 5% of replies corrupted, every
/// receiver finishes with a byte-identical copy. (Client-to-server datagrams are not
/// corrupted here: a flipped DATA sequence field is damage the checksum cannot see, which
/// `everything_at_once_*` and `native/tests/digest.rs` cover.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_corruption_under_a_window_still_delivers_every_copy() {
    let down = LinkConfig { corrupt: 0.0, ..everything() };
    for (mode, server_window, seeds) in
        [(Mode::GoBackN { window: 8 }, 0, [10, 12]), (Mode::SelectiveRepeat { window: 8 }, 8, [11, 13])]
    {
        for seed in seeds {
            let cfg = SenderConfig { mode, ..sender(1000, Dialect::Binary, adaptive(), 40) };
            let name = format!("replies corrupted, {mode:?}, seed {seed}");
            let s = run_through(&name, down, everything(), cfg, server_window, seed).await;
            assert!(s.all_finished(), "{name}: {}", s.render());
        }
    }
}

#[tokio::test]
async fn proxy_counts_what_it_does_and_ignores_strangers() {
    // A proxy in front of a plain UDP echo: with 50% loss, about half comes back.
    let echo = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let upstream = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 100];
        while let Ok((n, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    let link =
        LinkConfig { delay: Duration::ZERO, loss: LossModel::Bernoulli { p: 0.5 }, ..LinkConfig::default() };
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let proxy = Impairer::bind(ImpairConfig {
        listen,
        upstream,
        down: link,
        up: LinkConfig::with_delay(Duration::ZERO),
        seed: 1,
    })
    .await
    .unwrap();
    let addr = proxy.local_addr();
    tokio::spawn(proxy.run());
    let me = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..200u8 {
        me.send_to(&[i], addr).await.unwrap();
    }
    let mut got = 0;
    let mut buf = [0u8; 10];
    while let Ok(Ok(_)) = timeout(Duration::from_millis(300), me.recv_from(&mut buf)).await {
        got += 1;
    }
    assert!((70..=130).contains(&got), "{got} of 200 came back through 50% loss");
    let bad = LinkConfig { duplicate: 2.0, ..LinkConfig::default() };
    let err = Impairer::bind(ImpairConfig { listen, upstream, down: bad, up: bad, seed: 1 }).await;
    assert!(err.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_through_slow_links_with_small_queues_arrives_intact_both_ways() {
    // 8 Mb/s behind a 12 kB drop-tail queue to each server: a 64-segment go-back-n window
    // overflows it. With either congestion response every copy must arrive intact; the
    // counts (printed) show how much each one overran the queue.
    let link = LinkConfig { bandwidth_bps: 8_000_000, queue_bytes: 12_000, ..base() };
    for congestion in [Congestion::Fixed, Congestion::Bbr] {
        let cfg = SenderConfig {
            mode: Mode::GoBackN { window: 64 },
            congestion,
            ..sender(1000, Dialect::Binary, adaptive(), 40)
        };
        let s = run_through("slow queue", link, link, cfg, 0, 7).await;
        assert!(s.all_finished(), "slow queue: {}", s.render());
        eprintln!("{congestion:?}: {} retransmissions in {} us", s.totals.retransmissions, s.delay_micros);
    }
}
