//! Native nodes (placeholder, being written).
