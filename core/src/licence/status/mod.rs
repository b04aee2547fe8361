//! Licence status codes (驾驶证状态) and the set of them a licence carries.
//!
//! The authority's record gives a licence's status as one or more letters, e.g. "A" or "DM"
//! (暂扣 + 逾期未换证); "A" (正常) means no other code applies.
//!
//! The letters follow those in use in the traffic management systems. Public sources disagree
//! in two places, noted on [`StatusCode::Investigation`] and [`StatusCode::OverdueExam`].
//!
//! One file per job: `code` is the table of letters (labels, wire bits, what each code
//! forbids); `set` is the set a licence carries (canonical letters, display colour).

mod code;
mod set;

pub use code::StatusCode;
pub use set::{LicenceStatus, StatusColour};

#[cfg(test)]
mod tests;
