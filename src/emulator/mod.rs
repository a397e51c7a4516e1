//! Phone-side emulations for tests and demos.

pub mod cable;
