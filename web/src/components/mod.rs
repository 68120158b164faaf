//! The page's function components, one per file.

mod app;
mod field;
mod params_form;
mod summary_view;

pub use app::App;
pub use field::Field;
pub use params_form::ParamsForm;
pub use summary_view::SummaryView;
