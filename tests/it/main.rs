//! The one integration-test binary: the real `fundledger` binary, the real
//! sled store, real files in temporary directories.

mod attacks;
mod audit_scores;
mod chain;
mod cli;
mod durability;
mod findings;
mod fixture;
mod intake;
mod journal;
mod merkle;
mod power_loss;
mod privacy;
mod report;
mod rules;
mod sample;
mod scaffold;
mod server;
mod snapshots;
mod structure;
mod support;
mod vectors;
mod way_out;
