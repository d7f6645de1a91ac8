//! Unit tests of the auth primitives, one file per submodule.

mod jwt;
mod password;
mod policy_decide;
mod policy_staff;
mod policy_table;
mod tokens;
mod totp;
