//! Helpers shared by integration tests (`mod common;`).
#![allow(dead_code)]

pub mod syncml_strategy;
pub mod syncml_trees;
