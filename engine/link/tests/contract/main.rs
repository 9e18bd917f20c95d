//! The wire contract from the outside: golden encodings, round trips, every reject reason,
//! and the setpoint gate over decoded messages. One test binary.

mod examples;
mod gate;
mod golden;
mod rejects;
mod roundtrip;
