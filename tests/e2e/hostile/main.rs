//! The DMZ edge tried as an attacker would: each test replays or floods what a partner (or
//! anyone who can reach an external listener) can send, shows the hole closed, and shows that
//! legitimate traffic still passes. Everything runs on 127.0.0.1 and is bounded in count.

#![allow(clippy::unwrap_used, clippy::disallowed_types)]

mod edge;
mod floods;
mod relay;
mod sanitising;
