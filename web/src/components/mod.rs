//! The page's function components, one per file.

mod app;
mod compare_view;
mod download;
mod experiments_tab;
mod frame_loop;
mod in_flight;
mod ladder_canvas;
mod legend;
mod live_source;
mod narration;
mod packet_details;
mod receivers_panel;
mod replay_source;
mod sim_panel;
mod throughput_chart;
mod totals_view;
mod transport_controls;

pub use app::App;
pub use compare_view::{is_typing, CompareView};
pub use download::{download_blob, download_text};
pub use experiments_tab::ExperimentsTab;
pub use frame_loop::use_frame_loop;
pub use in_flight::{InFlightList, WireEntry};
pub use ladder_canvas::LadderCanvas;
pub use legend::Legend;
pub use live_source::LiveSource;
pub use narration::Narration;
pub use packet_details::PacketDetails;
pub use receivers_panel::ReceiversPanel;
pub use replay_source::ReplaySource;
pub use sim_panel::SimPanel;
pub use throughput_chart::ThroughputChart;
pub use totals_view::TotalsView;
pub use transport_controls::TransportControls;
