//! Field-encryption cost: seal/open ns per operation for 32 B, 1 KB and 16 KB values, against a
//! bare AES-256-GCM call on the same input in the same run.
//!
//! `cargo run --release --bin bench_crypto`
use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use uuid::Uuid;
use wavault::crypto::{DataKey, Place, TenantKeys};

fn per_op(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tenant = Uuid::new_v4();
    let keys = TenantKeys::new(tenant, vec![(1, DataKey::from_bytes([7u8; 32]))], 1)?;
    let bare = Aes256Gcm::new_from_slice(&[7u8; 32]).map_err(|_| "key")?;
    let row = Uuid::new_v4();
    let place = Place::new("messages", "content_enc", row);
    println!(
        "| size | seal ns/op | open ns/op | bare encrypt ns/op | bare decrypt ns/op | seal/bare | open/bare |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, size, iterations) in [
        ("32 B", 32usize, 200_000u32),
        ("1 KB", 1024, 100_000),
        ("16 KB", 16 * 1024, 10_000),
    ] {
        let data = vec![0x5au8; size];
        let sealed = keys.seal(&place, &data)?;
        let nonce_bytes = [1u8; 12];
        let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| "nonce")?;
        let bare_ct = bare
            .encrypt(&nonce, data.as_slice())
            .map_err(|_| "encrypt")?;
        let seal = per_op(iterations, || {
            black_box(keys.seal(&place, black_box(&data)).ok());
        });
        let open = per_op(iterations, || {
            black_box(keys.open(&place, black_box(&sealed)).ok());
        });
        let benc = per_op(iterations, || {
            black_box(bare.encrypt(&nonce, black_box(data.as_slice())).ok());
        });
        let bdec = per_op(iterations, || {
            black_box(bare.decrypt(&nonce, black_box(bare_ct.as_slice())).ok());
        });
        println!(
            "| {label} | {seal:.0} | {open:.0} | {benc:.0} | {bdec:.0} | {:.2} | {:.2} |",
            seal / benc,
            open / bdec
        );
    }
    Ok(())
}
