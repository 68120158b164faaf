//! `p2mp impair`: UDP impairment proxies between real nodes, for testing on loopback.

use crate::error::{NativeError, Result};
use crate::impair::{ImpairConfig, Impairer};
use crate::units::parse_duration;
use clap::Args;
use p2mp_core::sim::{LinkConfig, LossModel};
use std::net::SocketAddr;
use std::time::Duration;

/// Options of `p2mp impair`. The same impairments apply to both directions of every route.
#[derive(Debug, Args)]
pub struct ImpairArgs {
    /// A proxied path, `LISTEN=UPSTREAM` (e.g. `127.0.0.1:9001=127.0.0.2:7735`): point the
    /// client at LISTEN instead of UPSTREAM. Repeat for several servers.
    #[arg(long = "route", required = true, value_name = "LISTEN=UPSTREAM")]
    pub routes: Vec<String>,
    /// One-way delay added to every datagram (e.g. 5ms).
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub delay: Duration,
    /// Extra random delay, uniform in [0, JITTER]; reorders datagrams.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub jitter: Duration,
    /// Bandwidth limit in bits per second (0: none).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// With `--rate`: drop-tail queue in bytes in front of the limited link; a datagram that
    /// finds it full is dropped, as at a slow router (0: unbounded, the link only delays).
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    pub queue: u64,
    /// Independent loss probability per datagram.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Bursty loss instead: `P_GOOD_BAD,P_BAD_GOOD,LOSS_GOOD,LOSS_BAD` (Gilbert-Elliott).
    #[arg(long, value_name = "P_GB,P_BG,L_G,L_B")]
    pub burst: Option<String>,
    /// Probability of delivering a datagram twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Probability of holding a datagram back so later ones overtake it.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Probability of flipping one random bit of a datagram.
    #[arg(long, default_value_t = 0.0)]
    pub corrupt: f64,
    /// Seed of the fates (route k uses SEED + k).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn parse_route(s: &str) -> Result<(SocketAddr, SocketAddr)> {
    let bad = || NativeError::usage(format!("invalid route `{s}` (expected LISTEN=UPSTREAM, both ip:port)"));
    let (l, u) = s.split_once('=').ok_or_else(bad)?;
    Ok((l.trim().parse().map_err(|_| bad())?, u.trim().parse().map_err(|_| bad())?))
}

fn link(a: &ImpairArgs) -> Result<LinkConfig> {
    let loss = match &a.burst {
        Some(spec) => {
            let v: Vec<f64> = spec
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| {
                    NativeError::usage(format!("invalid --burst `{spec}` (expected four probabilities)"))
                })?;
            match v[..] {
                [p_good_bad, p_bad_good, loss_good, loss_bad] => {
                    LossModel::GilbertElliott { p_good_bad, p_bad_good, loss_good, loss_bad }
                }
                _ => {
                    return Err(NativeError::usage(format!(
                        "invalid --burst `{spec}` (expected four probabilities)"
                    )))
                }
            }
        }
        None if a.loss > 0.0 => LossModel::Bernoulli { p: a.loss },
        None => LossModel::None,
    };
    let cfg = LinkConfig {
        delay: a.delay,
        jitter: a.jitter,
        bandwidth_bps: a.rate,
        queue_bytes: a.queue,
        loss,
        duplicate: a.duplicate,
        reorder: a.reorder,
        corrupt: a.corrupt,
    };
    cfg.validate().map_err(NativeError::Usage)?;
    Ok(cfg)
}

/// Runs the proxies until interrupted (Ctrl-C), then prints what each did.
pub async fn run(args: ImpairArgs) -> Result<()> {
    let link = link(&args)?;
    let routes = args.routes.iter().map(|r| parse_route(r)).collect::<Result<Vec<_>>>()?;
    let mut tasks = Vec::new();
    let mut counts = Vec::new();
    for (k, (listen, upstream)) in routes.into_iter().enumerate() {
        let seed = args.seed.wrapping_add(k as u64);
        let proxy = Impairer::bind(ImpairConfig { listen, upstream, down: link, up: link, seed }).await?;
        eprintln!("impairing {} -> {upstream}", proxy.local_addr());
        counts.push((proxy.local_addr(), upstream, proxy.stats()));
        tasks.push(tokio::spawn(proxy.run()));
    }
    tokio::select! {
        // If Ctrl-C cannot be watched (Err), the branch is disabled and SIGINT ends the process.
        Ok(()) = tokio::signal::ctrl_c() => {
            for (listen, upstream, stats) in &counts {
                // A poisoned lock still holds the last counts written.
                let s = match stats.lock() {
                    Ok(s) => *s,
                    Err(poisoned) => *poisoned.into_inner(),
                };
                eprintln!("impaired {listen} -> {upstream}: {}", s.render());
            }
            Ok(())
        }
        r = async {
            for t in tasks {
                match t.await {
                    Ok(Err(e)) => return Err(e),
                    Err(e) => return Err(NativeError::usage(format!("proxy task failed: {e}"))),
                    Ok(Ok(_)) => {}
                }
            }
            Ok(())
        } => r,
    }
}
