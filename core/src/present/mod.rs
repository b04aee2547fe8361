//! Rotating presentations.

pub mod render;
