//! The signed status list at national scale: bytes on the wire, time to check and
//! decode, time to look one index up.
//!
//! `cargo bench -p edl-core --bench status_list`. Lists of 1 M and 10 M e-licences with
//! 1 % not in force (half suspended, half superseded, at random indices: the worst case
//! for compression, as real changes are not clustered). The sizes are printed before the
//! timings. `floor/*` are the parts alone on the same bytes: the zlib inflate, a copy
//! of the unpacked bytes, and one strict Ed25519 verification of the signed body;
//! `docs/BENCHMARKS.md` compares `status_list/verify/*` with them.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use edl_core::credential::{ElicenceStatus, Issuer, StatusList, TrustList};
use edl_core::crypto::{self, KeyId, Purpose, SecretKey, Signature};

const NOW: u32 = 1_795_575_605;

/// A small deterministic generator (xorshift64*), so every run measures the same list.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `count` e-licences, one in a hundred not in force.
fn list(count: u32) -> StatusList {
    let mut list = StatusList::new(NOW, 3600, count);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..count / 100 {
        let index = (rng.next() % u64::from(count)) as u32;
        let status = if rng.next() & 1 == 0 {
            ElicenceStatus::Suspended
        } else {
            ElicenceStatus::Superseded
        };
        list.set(index, status).expect("in range");
    }
    list
}

fn benches(c: &mut Criterion) {
    let key = SecretKey::from_seed([0x11; 32]);
    let issuer = Issuer::new(KeyId(1), SecretKey::from_seed([0x11; 32]));
    let trust = TrustList::new(vec![issuer.trusted_key(0)]).expect("one key");
    let mut group = c.benchmark_group("status_list");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for (label, count) in [("1M", 1_000_000u32), ("10M", 10_000_000)] {
        let signed = issuer.sign_status_list(&list(count));
        // `1 | kid | issued_at | ttl_secs | count` (15 bytes), zlib, signature (64).
        let (body, sig) = signed.split_at(signed.len() - 64);
        let compressed = &body[15..];
        let unpacked = count.div_ceil(4) as usize;
        println!(
            "status_list/{label}: {} bytes on the wire ({} unpacked, {:.1} bits per e-licence)",
            signed.len(),
            unpacked,
            signed.len() as f64 * 8.0 / f64::from(count)
        );
        let decoded = StatusList::verify(&signed, &trust).expect("verifies");
        group.bench_function(BenchmarkId::new("verify", label), |b| {
            b.iter(|| StatusList::verify(black_box(&signed), &trust).unwrap())
        });
        group.bench_function(BenchmarkId::new("floor/inflate", label), |b| {
            b.iter(|| {
                miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(
                    black_box(compressed),
                    unpacked,
                )
                .unwrap()
            })
        });
        let plain = vec![0u8; unpacked];
        group.bench_function(BenchmarkId::new("floor/copy", label), |b| {
            b.iter(|| black_box(&plain).to_vec())
        });
        let signature = Signature(sig.try_into().expect("64 bytes"));
        let public = key.public();
        group.bench_function(BenchmarkId::new("floor/ed25519_verify", label), |b| {
            b.iter(|| crypto::verify(&public, Purpose::StatusList, black_box(body), &signature))
        });
        // Indices spread over the list so each lookup misses the cache as on a phone.
        let mut rng = Rng(7);
        let indices: Vec<u32> = (0..4096)
            .map(|_| (rng.next() % u64::from(count)) as u32)
            .collect();
        let mut i = 0;
        group.bench_function(BenchmarkId::new("lookup", label), |b| {
            b.iter(|| {
                i = (i + 1) % indices.len();
                decoded
                    .status_at(black_box(indices[i]), u64::from(NOW))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(status, benches);
criterion_main!(status);
