//! Offline evaluation (being written).
