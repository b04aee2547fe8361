//! The window, TOTP, online code, text form and signature cases.

use super::*;

pub(super) fn code_cases() -> Vec<Case> {
    let seed = TotpSeed::from_bytes(sample::TOTP_SEED);
    let window = Window::at(NOW, PERIOD);
    let mut cases = Vec::new();
    for (kind, label, period) in [
        (CodeKind::Qr, "qr", PERIOD),
        (CodeKind::Manual, "manual", crate::present::MANUAL_PERIOD),
    ] {
        for audience in Audience::ALL {
            // The key derivation written out from the document, checked below against
            // the code the wallet makes.
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&sample::TOTP_SEED)
                .expect("any key length");
            mac.update(b"EDL1/totp/");
            mac.update(label.as_bytes());
            mac.update(b"/");
            mac.update(&[audience.code()]);
            let derived: [u8; 32] = mac.finalize().into_bytes().into();
            let index = Window::at(NOW, period).index;
            let code = seed.code(kind, audience.code(), period, index);
            assert_eq!(
                code,
                crypto::rfc6238_code(
                    crypto::TotpHash::Sha256,
                    &derived,
                    kind.digits(),
                    period,
                    NOW
                )
            );
            cases.push(
                Case::new(format!("totp_key/{label}/{audience}"), "totp_key")
                    .hex("seed", &sample::TOTP_SEED)
                    .with("code_kind", label)
                    .hex("audience_code", &[audience.code()])
                    .hex("key", &derived)
                    .with("period", period)
                    .with("now", NOW)
                    .with("code", code),
            );
        }
    }
    let s = sample::issued(NOW as u32 - HOUR);
    let online = |audience| s.holder.online_payload(audience, window).encode();
    let code_case =
        |name: &str, kind: &str, field: &'static str, value: String, now: u64, expect: &str| {
            Case::new(format!("{kind}/{name}"), kind)
                .hex("seed", &sample::TOTP_SEED)
                .with("now", now)
                .with(field, value)
                .with("expect", expect)
        };
    let accept = |a: Audience| {
        format!(
            "accept audience={a} id={} window={}",
            sample::ELICENCE_ID.0,
            window.index
        )
    };
    for audience in Audience::ALL {
        cases.push(code_case(
            &format!("accept/{audience}"),
            "online_qr",
            "payload",
            hex::encode(online(audience)),
            NOW,
            &accept(audience),
        ));
    }
    cases.push(code_case(
        "reject/two_windows_later",
        "online_qr",
        "payload",
        hex::encode(online(Audience::Business)),
        NOW + 60,
        "reject wrong_code",
    ));
    // The business code under the enforcement header: the audience is part of the key.
    let mut swapped = online(Audience::Business);
    swapped[0] = online(Audience::Enforcement)[0];
    cases.push(code_case(
        "reject/audience_swapped",
        "online_qr",
        "payload",
        hex::encode(swapped),
        NOW,
        "reject wrong_code",
    ));
    let codes = s
        .holder
        .dynamic_code(Audience::Business, NOW, PERIOD)
        .expect("sample codes");
    cases.push(code_case(
        "accept",
        "barcode",
        "text",
        codes.barcode.text().to_owned(),
        NOW,
        &accept(Audience::Business),
    ));
    let manual = s
        .holder
        .dynamic_code(Audience::Enforcement, NOW, PERIOD)
        .expect("sample codes")
        .manual_code;
    cases.push(
        code_case(
            "accept",
            "manual",
            "code",
            manual,
            NOW,
            &format!(
                "accept audience=enforcement window={}",
                Window::at(NOW, crate::present::MANUAL_PERIOD).index
            ),
        )
        .with("licence_number", licence().main.licence_number),
    );
    let payload = Mint::good().payload();
    cases.push(
        Case::new("text/accept", "text")
            .with("text", payload_to_text(&payload))
            .hex("payload", &payload)
            .with("expect", "accept"),
    );
    cases.push(
        Case::new("text/reject/padded", "text")
            .with("text", format!("{}=", payload_to_text(&payload[..2])))
            .with("expect", "reject malformed"),
    );
    cases.push(
        Case::new("text/reject/standard_alphabet", "text")
            .with("text", "EDL:+/8")
            .with("expect", "reject malformed"),
    );
    cases
}

pub(super) fn window_cases() -> Vec<Case> {
    let here = Window::at(NOW, PERIOD).index;
    [
        (here as u8, here),
        (here.wrapping_add(127) as u8, here + 127),
        (here.wrapping_sub(127) as u8, here - 127),
        (here.wrapping_add(128) as u8, here + 128),
    ]
    .into_iter()
    .map(|(low, index)| {
        Case::new(format!("window/low_byte_{low:02x}"), "window")
            .with("now", NOW)
            .with("period", PERIOD)
            .hex("low_byte", &[low])
            .with("expect", format!("index={index}"))
    })
    .collect()
}

pub(super) fn signature_cases() -> Vec<Case> {
    let message = b"any message at all";
    let signer = key(sample::DEVICE_SEED);
    let good = crypto::sign(&signer, Purpose::Presentation, message);
    // S + L: the same signature with a non-canonical S.
    let mut malleable = good.0;
    let l: [u8; 32] =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(malleable[32 + i]) + u16::from(l[i]) + carry;
        malleable[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    // y = p + 1 (≡ 1, the identity) with the sign bit clear: a non-canonical encoding.
    let mut non_canonical = [0xff; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let case = |name: &str, key: &[u8; 32], sig: &[u8; 64], expect: &str| {
        Case::new(format!("signature/{name}"), "signature")
            .with("tag", "EDL1/presentation\\0")
            .hex("public_key", key)
            .hex("message", message)
            .hex("signature", sig)
            .with("expect", expect)
    };
    vec![
        case("accept", &signer.public().to_bytes(), &good.0, "accept"),
        case(
            "reject/non_canonical_s",
            &signer.public().to_bytes(),
            &malleable,
            "reject",
        ),
        case(
            "reject/small_order_key",
            &identity_point(),
            &weak_signature().0,
            "reject",
        ),
        case(
            "reject/non_canonical_key",
            &non_canonical,
            &weak_signature().0,
            "reject",
        ),
    ]
}
