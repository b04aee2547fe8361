//! The trust-list and status-list cases.

use super::*;

fn raw_status_list(kid: u16, seed: [u8; 32], issued_at: u32, entries: &[u8]) -> Vec<u8> {
    let mut packed = vec![0u8; entries.len().div_ceil(4)];
    for (i, e) in entries.iter().enumerate() {
        packed[i / 4] |= e << (2 * (i % 4));
    }
    let mut w = Writer::with_capacity(128);
    w.u8(1)
        .u16(kid)
        .u32(issued_at)
        .u32(STATUS_TTL)
        .u32(entries.len() as u32)
        .raw(&miniz_oxide::deflate::compress_to_vec_zlib(&packed, 9));
    let mut bytes = w.into_bytes();
    let sig = crypto::sign(&key(seed), Purpose::StatusList, &bytes);
    bytes.extend_from_slice(&sig.0);
    bytes
}

/// The sample's index (42) with `value`, the others in force; 64 entries.
fn status_list_with(value: u8, issued_at: u32) -> Vec<u8> {
    let mut entries = [0u8; 64];
    entries[sample::STATUS_INDEX as usize] = value;
    entries[1] = 1;
    entries[2] = 2;
    entries[3] = 3;
    raw_status_list(2, [0x12; 32], issued_at, &entries)
}

pub(super) fn status_cases() -> Vec<Case> {
    let fresh = NOW as u32 - 60;
    let case = |name: &str, list: &[u8], index: u32, now: u64, expect: &str| {
        Case::new(format!("status_list/{name}"), "status_list")
            .hex("root", &key(ROOT_SEED).public().to_bytes())
            .hex("trust_list", &trust_list())
            .with("now", now)
            .hex("list", list)
            .with("index", index)
            .with("expect", expect)
    };
    let list = status_list_with(0, fresh);
    let mut flipped = list.clone();
    flipped[20] ^= 0x10;
    let stale_at = u64::from(fresh + STATUS_TTL);
    let mut cases = vec![
        case("in_force", &list, 0, NOW, "in_force"),
        case("value_1_superseded", &list, 1, NOW, "superseded"),
        case("value_2_suspended", &list, 2, NOW, "suspended"),
        case(
            "value_3_reserved_reads_superseded",
            &list,
            3,
            NOW,
            "superseded",
        ),
        case("index_beyond_count_unknown", &list, 64, NOW, "unknown"),
        case("one_second_before_ttl", &list, 0, stale_at - 1, "in_force"),
        case("stale_at_issued_at_plus_ttl", &list, 0, stale_at, "unknown"),
        case(
            "reject/bit_flipped",
            &flipped,
            0,
            NOW,
            "reject bad_signature",
        ),
        case(
            "reject/unknown_key",
            &raw_status_list(9, [0x19; 32], fresh, &[0; 8]),
            0,
            NOW,
            "reject unknown_key",
        ),
        case(
            "reject/other_authority",
            &raw_status_list(2, OTHER_SEED, fresh, &[0; 8]),
            0,
            NOW,
            "reject bad_signature",
        ),
        case(
            "reject/retired_key_after_its_period",
            &raw_status_list(1, sample::ISSUER_SEED, fresh, &[0; 8]),
            0,
            NOW,
            "reject unknown_key",
        ),
    ];
    // The same lists as an offline verifier uses them on the sample's presentation.
    let payload = Mint::good().payload();
    let b = Audience::Business;
    for (name, value, expect) in [
        ("status/in_force", 0, "accept status=in_force"),
        ("status/suspended", 2, "reject elicence_suspended"),
        ("status/superseded", 1, "reject elicence_superseded"),
        ("status/reserved", 3, "reject elicence_superseded"),
    ] {
        let list = status_list_with(value, fresh);
        cases.push(offline_with(
            name,
            &payload,
            b,
            NOW,
            Some((&list, "accept")),
            expect,
        ));
    }
    let stale = status_list_with(2, NOW as u32 - STATUS_TTL);
    for (name, policy, expect) in [
        (
            "status/stale_accepted_as_unknown",
            "accept",
            "accept status=unknown",
        ),
        (
            "status/stale_refused_by_policy",
            "refuse",
            "reject status_unknown",
        ),
    ] {
        cases.push(offline_with(
            name,
            &payload,
            b,
            NOW,
            Some((&stale, policy)),
            expect,
        ));
    }
    cases
}

pub(super) fn trust_cases() -> Vec<Case> {
    let root = key(ROOT_SEED);
    let case = |name: &str, held: &[Vec<u8>], list: &[u8], now: u64, expect: &str| {
        let mut c = Case::new(format!("trust_list/{name}"), "trust_list")
            .hex("root", &root.public().to_bytes())
            .with("now", now);
        if !held.is_empty() {
            let held: Vec<String> = held.iter().map(hex::encode).collect();
            c = c.with("held", held.join(","));
        }
        c.hex("list", list).with("expect", expect)
    };
    let good = trust_list();
    let mut flipped = good.clone();
    flipped[5] ^= 0x01;
    let mut version3 = good.clone();
    version3[0] = 3;
    let c = contents(7, None);
    let expires = u64::from(c.expires_at);
    let issued = u64::from(c.issued_at);
    let announcing = contents(8, Some(NEXT_ROOT_SEED)).sign(&root);
    // A list by the next root offered once the announcing list has expired, itself valid
    // then: the announcement no longer holds (D205).
    let after_announcement = expires + 30 * 24 * 3600;
    let by_next_later = TrustListContents {
        issued_at: (after_announcement - 60) as u32,
        expires_at: (after_announcement + 7 * 24 * 3600) as u32,
        ..contents(9, None)
    }
    .sign(&key(NEXT_ROOT_SEED));
    let by_next = contents(9, None).sign(&key(NEXT_ROOT_SEED));
    let old_root_after = contents(10, None).sign(&root);
    let other_same_number = TrustListContents {
        expires_at: c.expires_at + 1,
        ..c.clone()
    }
    .sign(&root);
    vec![
        case("accept", &[], &good, NOW, "accept sequence=7"),
        case(
            "reject/unsigned",
            &[],
            &c.keys.encode(),
            NOW,
            "reject unsigned",
        ),
        case(
            "reject/other_root",
            &[],
            &c.sign(&key(OTHER_SEED)),
            NOW,
            "reject bad_root_signature",
        ),
        case(
            "reject/bit_flipped",
            &[],
            &flipped,
            NOW,
            "reject bad_root_signature",
        ),
        case("reject/version_3", &[], &version3, NOW, "reject malformed"),
        case(
            "accept/one_second_before_expiry",
            &[],
            &good,
            expires - 1,
            "accept sequence=7",
        ),
        case(
            "reject/expired_at_expires_at",
            &[],
            &good,
            expires,
            "reject expired",
        ),
        case(
            "accept/issued_within_skew",
            &[],
            &good,
            issued - 5,
            "accept sequence=7",
        ),
        case(
            "reject/issued_in_the_future",
            &[],
            &good,
            issued - 6,
            "reject not_yet_valid",
        ),
        case(
            "reject/rolled_back",
            std::slice::from_ref(&announcing),
            &good,
            NOW,
            "reject rolled_back",
        ),
        case(
            "reject/same_number_other_bytes",
            std::slice::from_ref(&good),
            &other_same_number,
            NOW,
            "reject rolled_back",
        ),
        case(
            "accept/same_list_again",
            std::slice::from_ref(&good),
            &good,
            NOW,
            "accept sequence=7",
        ),
        case(
            "accept/rotation_to_next_root",
            std::slice::from_ref(&announcing),
            &by_next,
            NOW,
            "accept sequence=9",
        ),
        case(
            "reject/old_root_after_rotation",
            &[announcing.clone(), by_next],
            &old_root_after,
            NOW,
            "reject bad_root_signature",
        ),
        // The announcing list held since `NOW`, the next root's list offered after it
        // expired (D205): `held_at` is when the held lists were accepted.
        case(
            "reject/next_root_of_an_expired_list",
            &[announcing],
            &by_next_later,
            after_announcement,
            "reject bad_root_signature",
        )
        .with("held_at", NOW),
    ]
}
