//! The signed lists' refusals (D93): a trust list or status list that was not taken, and a
//! verification that found no valid trust list to check against.

use edl_core::credential::{StatusListError, TrustListRejection};
use edl_core::net::NetError;
use edl_core::verify::{AnchoredRejection, StatusListRefusal};

use super::net::{net, refusal};
use super::{EdlError, ListKind, ListRefusal};

impl EdlError {
    /// A list fetch from the authority that failed.
    pub(crate) fn list_fetch(e: NetError) -> Self {
        net(e, refusal)
    }

    fn list(list: ListKind, reason: ListRefusal) -> Self {
        EdlError::ListRefused { list, reason }
    }
}

impl From<TrustListRejection> for EdlError {
    fn from(r: TrustListRejection) -> Self {
        EdlError::list(ListKind::TrustList, trust_reason(r))
    }
}

fn trust_reason(r: TrustListRejection) -> ListRefusal {
    match r {
        TrustListRejection::Unsigned => ListRefusal::Unsigned,
        TrustListRejection::BadRootSignature => ListRefusal::BadSignature,
        TrustListRejection::Malformed(_) => ListRefusal::Malformed,
        TrustListRejection::Expired => ListRefusal::Expired,
        TrustListRejection::NotYetValid => ListRefusal::NotYetValid,
        TrustListRejection::RolledBack { .. } => ListRefusal::RolledBack,
        TrustListRejection::NoList => ListRefusal::NoList,
    }
}

impl From<StatusListRefusal> for EdlError {
    fn from(r: StatusListRefusal) -> Self {
        let reason = match r {
            // The status list cannot be checked because of the trust list: say so.
            StatusListRefusal::NoTrustList(t) => return t.into(),
            StatusListRefusal::List(StatusListError::Malformed(_)) => ListRefusal::Malformed,
            StatusListRefusal::List(StatusListError::UnknownKey) => ListRefusal::UnknownSigner,
            StatusListRefusal::List(StatusListError::BadSignature) => ListRefusal::BadSignature,
            // Not a result of checking a list; kept exhaustive.
            StatusListRefusal::List(StatusListError::IndexOutOfRange) => ListRefusal::Malformed,
            StatusListRefusal::NotYetValid => ListRefusal::NotYetValid,
            StatusListRefusal::RolledBack { .. } => ListRefusal::RolledBack,
            StatusListRefusal::NotLive { .. } => ListRefusal::NotLive,
        };
        EdlError::list(ListKind::StatusList, reason)
    }
}

impl From<AnchoredRejection> for EdlError {
    fn from(r: AnchoredRejection) -> Self {
        match r {
            AnchoredRejection::TrustList(t) => t.into(),
            AnchoredRejection::Rejected(r) => r.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::codec::DecodeError;

    #[test]
    fn each_list_refusal_names_its_list_and_reason() {
        let trust = |reason| EdlError::ListRefused {
            list: ListKind::TrustList,
            reason,
        };
        let status = |reason| EdlError::ListRefused {
            list: ListKind::StatusList,
            reason,
        };
        let cases: [(EdlError, EdlError); 8] = [
            (
                TrustListRejection::Unsigned.into(),
                trust(ListRefusal::Unsigned),
            ),
            (
                TrustListRejection::BadRootSignature.into(),
                trust(ListRefusal::BadSignature),
            ),
            (
                TrustListRejection::RolledBack {
                    held: 2,
                    offered: 1,
                }
                .into(),
                trust(ListRefusal::RolledBack),
            ),
            (
                TrustListRejection::Expired.into(),
                trust(ListRefusal::Expired),
            ),
            (
                StatusListRefusal::NoTrustList(TrustListRejection::NoList).into(),
                trust(ListRefusal::NoList),
            ),
            (
                StatusListRefusal::List(StatusListError::UnknownKey).into(),
                status(ListRefusal::UnknownSigner),
            ),
            (
                StatusListRefusal::List(StatusListError::Malformed(DecodeError::BadValue("x")))
                    .into(),
                status(ListRefusal::Malformed),
            ),
            (
                AnchoredRejection::TrustList(TrustListRejection::Expired).into(),
                trust(ListRefusal::Expired),
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }
}
