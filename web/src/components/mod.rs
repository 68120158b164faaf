//! The page's function components, one per file.

mod app;
mod frame_loop;
mod ladder_canvas;
mod legend;
mod live_source;
mod packet_details;
mod receivers_panel;
mod replay_source;
mod simulate_source;
mod throughput_chart;
mod totals_view;
mod transport_controls;

pub use app::{App, PlayerState};
pub use frame_loop::use_frame_loop;
pub use ladder_canvas::LadderCanvas;
pub use legend::Legend;
pub use live_source::LiveSource;
pub use packet_details::PacketDetails;
pub use receivers_panel::ReceiversPanel;
pub use replay_source::ReplaySource;
pub use simulate_source::SimulateSource;
pub use throughput_chart::ThroughputChart;
pub use totals_view::TotalsView;
pub use transport_controls::TransportControls;
