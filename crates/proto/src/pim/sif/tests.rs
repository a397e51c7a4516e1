//! Tests of SIF reading and writing.
