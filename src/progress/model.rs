//! The progress model of one pull.
