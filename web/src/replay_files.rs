//! Replaying several trace files as one transfer: the client's and the servers' recordings
//! (`--trace-file`, one file per node, each on its own clock) are merged with
//! [`p2mp_core::merge`] into one trace on the client's clock before the player sees them.
//! One file is replayed as it is (a simulated or exported trace holds every node already).

use p2mp_core::merge::merge_jsonl;

/// What replay mode loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combined {
    /// The name shown for the source: the file name, or the names joined with ` + `.
    pub name: String,
    /// The trace as JSON Lines.
    pub text: String,
}

/// Several trace URLs typed in one field (or `?trace=` given several times): separated by
/// white space.
pub fn split_urls(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// The files (name, text) as one trace: one file as it is, several merged. The error names
/// the file at fault (one that does not parse, or does not belong with the others).
pub fn combine(mut files: Vec<(String, String)>) -> Result<Combined, String> {
    match files.len() {
        0 => Err("no trace to replay".into()),
        1 => {
            let (name, text) = files.remove(0);
            Ok(Combined { name, text })
        }
        _ => {
            let merged = merge_jsonl(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
                .map_err(|e| format!("Cannot replay these files together: {e}"))?;
            let name = files.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(" + ");
            Ok(Combined { name, text: merged.to_jsonl() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p2mp_core::merge::{remap_server_event, MergedTrace};
    use p2mp_core::sim::{SimConfig, Simulation};
    use p2mp_core::trace::{Node, TraceEvent, TraceHeader, TraceSource};
    use p2mp_core::Instant;

    fn jsonl(header: &TraceHeader, events: &[TraceEvent]) -> String {
        MergedTrace { header: header.clone(), events: events.to_vec(), servers: Vec::new() }.to_jsonl()
    }

    /// A simulated transfer to two receivers, as the client and two servers would record it.
    fn recordings() -> (Vec<TraceEvent>, Vec<(String, String)>) {
        let mut sim = Simulation::new(SimConfig {
            file_size: 8_000,
            receivers: 2,
            loss: 0.2,
            seed: 3,
            ..SimConfig::default()
        })
        .expect("config");
        sim.run();
        let events = sim.trace().to_vec();
        let receivers: Vec<String> = (0..2).map(|i| p2mp_core::sim::receiver_addr(i).to_string()).collect();
        let client = TraceHeader::new(TraceSource::Native { node: Node::Client, addr: "127.0.0.1:9".into() });
        let mut files = vec![(
            "c.jsonl".to_string(),
            jsonl(&client, &events.iter().filter(|e| e.node == Node::Client).cloned().collect::<Vec<_>>()),
        )];
        for (i, addr) in receivers.iter().enumerate() {
            let node = Node::Server(i as u16);
            let h = TraceHeader::new(TraceSource::Native { node: Node::Server(0), addr: addr.clone() });
            let ev: Vec<TraceEvent> = events
                .iter()
                .filter(|e| e.node == node)
                .map(|e| {
                    let mut e = remap_server_event(e.clone(), node, 0);
                    e.t = Instant::from_micros(e.t.total_micros() + 900_000);
                    e
                })
                .collect();
            files.push((format!("s{}.jsonl", i + 1), jsonl(&h, &ev)));
        }
        (events, files)
    }

    #[test]
    fn several_files_replay_as_one_transfer() {
        let (events, mut files) = recordings();
        files.rotate_left(1);
        let c = combine(files).expect("combine");
        assert_eq!(c.name, "s1.jsonl + s2.jsonl + c.jsonl");
        let m = p2mp_core::view::TraceModel::from_jsonl(&c.text).expect("parses");
        assert_eq!(m.events.len(), events.len());
        assert_eq!(m.summary().receivers.len(), 2);
        assert!(m.summary().loss_drops > 0);
        let mut player = crate::player::Player::default();
        player.apply(crate::player::Action::Open(crate::player::Source::Replay { name: c.name.clone() }));
        player.apply(crate::player::Action::Ingest(c.text));
        assert_eq!(player.len(), events.len());
    }

    #[test]
    fn one_file_is_replayed_as_it_is_and_a_bad_one_is_named() {
        let (_, files) = recordings();
        let one = combine(vec![files[1].clone()]).expect("one");
        assert_eq!(one, Combined { name: files[1].0.clone(), text: files[1].1.clone() });
        let mut bad = files.clone();
        bad[2].1.push_str("{not json\n");
        let err = combine(bad).unwrap_err();
        assert!(err.contains("s2.jsonl: line"), "{err}");
        let err = combine(files[1..].to_vec()).unwrap_err();
        assert!(err.contains("none of the files is the sender's"), "{err}");
        assert_eq!(split_urls(" a.jsonl\nb.jsonl  c "), ["a.jsonl", "b.jsonl", "c"]);
    }
}
