//! `p2mp trace merge OUT IN...`: the per-node trace files of one transfer (`p2mpclient
//! --trace-file` and each `p2mpserver --trace-file`) merged into one trace on the client's
//! clock, which replays in the browser as the whole transfer. The merge itself is
//! [`p2mp_core::merge`]; this reads and writes the files.

use crate::error::{NativeError, Result};
use clap::{Args, Subcommand};
use p2mp_core::merge::{merge, MergedTrace, NodeTrace};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options of `p2mp trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// What to do with traces.
    #[command(subcommand)]
    pub command: TraceCommand,
}

/// The `p2mp trace` subcommands.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Merge the trace files of one transfer (the client's and any servers', in any order)
    /// into OUT: the servers matched to their receiver index and their clocks aligned on the
    /// client's. OUT replays in the browser (open it, or all the inputs at once).
    Merge(MergeArgs),
}

/// Options of `p2mp trace merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The merged trace to write (JSON Lines); `-` for standard output.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The nodes' trace files.
    #[arg(value_name = "IN", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// Reads and merges `inputs` (each named by its path in messages).
pub fn merge_files(inputs: &[PathBuf]) -> Result<MergedTrace> {
    let mut traces = Vec::with_capacity(inputs.len());
    for path in inputs {
        let text = std::fs::read_to_string(path)
            .map_err(|e| NativeError::InputFile { path: path.clone(), reason: e.to_string() })?;
        traces.push(NodeTrace::parse(path.display().to_string(), &text).map_err(merge_error)?);
    }
    merge(traces).map_err(merge_error)
}

fn merge_error(e: p2mp_core::merge::MergeError) -> NativeError {
    NativeError::usage(format!("cannot merge: {e}"))
}

/// Writes `merged` as JSON Lines to `out` (`-`: standard output).
pub fn write_merged(merged: &MergedTrace, out: &Path) -> Result<()> {
    let text = merged.to_jsonl();
    let err = |e: std::io::Error| NativeError::OutputFile { path: out.to_path_buf(), reason: e.to_string() };
    if out == Path::new("-") {
        std::io::stdout().lock().write_all(text.as_bytes()).map_err(err)
    } else {
        std::fs::write(out, text).map_err(err)
    }
}

/// One line per server: which receiver it is and how its clock was aligned.
pub fn describe(merged: &MergedTrace) -> Vec<String> {
    merged
        .servers
        .iter()
        .map(|a| {
            let how = if a.by_address { "by address" } else { "by timing" };
            let tol =
                a.tolerance_micros.map_or_else(String::new, |t| format!(" ± {:.3} ms", t as f64 / 1000.0));
            format!(
                "{}: receiver {} ({how}), clock {:+.3} ms from the client's{tol}",
                a.name,
                a.receiver,
                a.offset_micros as f64 / 1000.0
            )
        })
        .collect()
}

/// Runs `p2mp trace`.
pub async fn run(args: TraceArgs) -> Result<()> {
    match args.command {
        TraceCommand::Merge(m) => {
            let merged = merge_files(&m.inputs)?;
            write_merged(&merged, &m.out)?;
            if !m.quiet {
                for line in describe(&merged) {
                    eprintln!("{line}");
                }
                eprintln!(
                    "wrote {} events of {} files to {}",
                    merged.events.len(),
                    m.inputs.len(),
                    m.out.display()
                );
            }
            Ok(())
        }
    }
}
