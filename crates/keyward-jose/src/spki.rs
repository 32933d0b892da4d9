//! The numbers inside a public key: RSA `n` and `e`, EC P-256 `x` and `y`, read from a DER
//! SubjectPublicKeyInfo (RFC 5280) or a PKCS#1 RSAPublicKey (RFC 8017) with a small
//! bounds-checked DER reader. JWKs need these numbers; aws-lc-rs only exposes them with its
//! `ring-io` feature, which the workspace leaves off.

use crate::error::{KeyError, Result, malformed_key};

/// The public key numbers of a key we can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyParts {
    /// RSA: modulus and public exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// EC P-256: the affine coordinates, big-endian, 32 bytes each.
    EcP256 { x: [u8; 32], y: [u8; 32] },
}

mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
}

mod oid {
    /// 1.2.840.113549.1.1.1
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// 1.2.840.10045.2.1
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.840.10045.3.1.7 (prime256v1, P-256)
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
}

const SPKI: &str = "SubjectPublicKeyInfo";
const PKCS1: &str = "RSAPublicKey";

/// Reads a SubjectPublicKeyInfo. Bytes after it are an error.
pub(crate) fn parse_spki(der: &[u8]) -> Result<PublicKeyParts> {
    let bad = |detail: &str| malformed_key(SPKI, detail);
    let (spki, rest) = expect(der, tag::SEQUENCE).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad("bytes after the key"));
    }
    let (alg_id, rest) = expect(spki, tag::SEQUENCE).map_err(bad)?;
    let (bits, rest) = expect(rest, tag::BIT_STRING).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad("bytes after the public key"));
    }
    let key = match bits.split_first() {
        Some((0, key)) => key,
        _ => return Err(bad("the public key BIT STRING has unused bits or is empty")),
    };
    let (alg, params) = expect(alg_id, tag::OID).map_err(bad)?;
    match alg {
        oid::RSA_ENCRYPTION => {
            // Parameters: NULL, or (rarely) absent.
            if !params.is_empty() && expect(params, tag::NULL) != Ok((&[][..], &[][..])) {
                return Err(bad("rsaEncryption parameters are not NULL"));
            }
            parse_rsa_public_key(key)
        }
        oid::EC_PUBLIC_KEY => {
            let (curve, rest) = expect(params, tag::OID).map_err(|_| bad("the EC key names no curve"))?;
            if !rest.is_empty() {
                return Err(bad("bytes after the curve name"));
            }
            if curve != oid::P256 {
                return Err(KeyError::UnsupportedCurve(curve_name(curve)).into());
            }
            ec_point(key)
        }
        other => Err(KeyError::UnsupportedType(key_type_name(other)).into()),
    }
}

/// Reads a PKCS#1 RSAPublicKey `SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Result<PublicKeyParts> {
    let bad = |detail: &str| malformed_key(PKCS1, detail);
    let (seq, rest) = expect(der, tag::SEQUENCE).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad("bytes after the key"));
    }
    let (n, rest) = expect(seq, tag::INTEGER).map_err(bad)?;
    let (e, rest) = expect(rest, tag::INTEGER).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad("bytes after the public exponent"));
    }
    Ok(PublicKeyParts::Rsa {
        n: positive(n).ok_or_else(|| bad("the modulus is not a positive integer"))?,
        e: positive(e).ok_or_else(|| bad("the exponent is not a positive integer"))?,
    })
}

/// Reads an uncompressed P-256 point `04 || x || y`.
pub(crate) fn ec_point(point: &[u8]) -> Result<PublicKeyParts> {
    match point {
        [4, xy @ ..] if xy.len() == 64 => {
            let mut x = [0; 32];
            let mut y = [0; 32];
            x.copy_from_slice(&xy[..32]);
            y.copy_from_slice(&xy[32..]);
            Ok(PublicKeyParts::EcP256 { x, y })
        }
        [2 | 3, ..] => Err(malformed_key(SPKI, "compressed EC points are not supported")),
        _ => Err(malformed_key(SPKI, "the EC point is not an uncompressed P-256 point")),
    }
}

/// The size in bits of a big-endian unsigned integer without leading zeros.
pub(crate) fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// The value of a positive DER INTEGER without its leading zeros; `None` if it is zero,
/// negative or empty.
fn positive(value: &[u8]) -> Option<Vec<u8>> {
    if value.first()? & 0x80 != 0 {
        return None;
    }
    let start = value.iter().position(|&b| b != 0)?;
    Some(value[start..].to_vec())
}

/// Reads one element with the expected tag; returns its value and the bytes after it.
fn expect(input: &[u8], expected: u8) -> std::result::Result<(&[u8], &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("unexpected end of data")?;
    if tag != expected {
        return Err("unexpected element");
    }
    let (&first, rest) = rest.split_first().ok_or("unexpected end of data")?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            if rest.len() < count {
                return Err("unexpected end of data");
            }
            let (bytes, rest) = rest.split_at(count);
            if bytes[0] == 0 || (count == 1 && bytes[0] < 0x80) {
                return Err("length not minimally encoded");
            }
            let len = bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, rest)
        }
        _ => return Err("unsupported length encoding"),
    };
    if rest.len() < len {
        return Err("unexpected end of data");
    }
    Ok(rest.split_at(len))
}

fn oid_to_dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
        if acc > u64::MAX >> 8 {
            return "(invalid OID)".to_owned();
        }
    }
    arcs.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}

fn key_type_name(oid: &[u8]) -> String {
    let dotted = oid_to_dotted(oid);
    let name = match dotted.as_str() {
        "1.2.840.113549.1.1.10" => " (RSASSA-PSS)",
        "1.3.101.112" => " (Ed25519)",
        "1.3.101.113" => " (Ed448)",
        "1.2.840.10040.4.1" => " (DSA)",
        _ => "",
    };
    format!("{dotted}{name}")
}

fn curve_name(oid: &[u8]) -> String {
    let dotted = oid_to_dotted(oid);
    let name = match dotted.as_str() {
        "1.3.132.0.34" => " (P-384)",
        "1.3.132.0.35" => " (P-521)",
        "1.3.132.0.10" => " (secp256k1)",
        _ => "",
    };
    format!("{dotted}{name}")
}

#[cfg(test)]
mod tests {
    use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey};

    use super::*;
    use crate::error::Error;

    fn spki_of(key_type: KeyType) -> (PrivateKey, Vec<u8>) {
        let key = PrivateKey::generate(key_type).unwrap();
        let cert: Certificate = CertificateSpec::new(Name::parse("CN=spki").unwrap())
            .self_signed(&key)
            .unwrap();
        (key.clone(), cert.spki_der())
    }

    #[test]
    fn reads_rsa_n_and_e_as_the_key_has_them() {
        let (key, spki) = spki_of(KeyType::Rsa2048);
        let PublicKeyParts::Rsa { n, e } = parse_spki(&spki).unwrap() else {
            panic!("not RSA")
        };
        assert_eq!(bit_len(&n), 2048);
        assert_eq!(e, [1, 0, 1]);
        assert_eq!(
            parse_rsa_public_key(key.public_key_bits()).unwrap(),
            PublicKeyParts::Rsa { n, e }
        );
    }

    #[test]
    fn reads_the_p256_point() {
        let (key, spki) = spki_of(KeyType::EcP256);
        let PublicKeyParts::EcP256 { x, y } = parse_spki(&spki).unwrap() else {
            panic!("not EC")
        };
        assert_eq!(key.public_key_bits(), [&[4][..], &x, &y].concat());
    }

    #[test]
    fn names_unsupported_curves_and_types() {
        let (_, spki) = spki_of(KeyType::EcP384);
        assert_eq!(
            parse_spki(&spki),
            Err(Error::Key(KeyError::UnsupportedCurve("1.3.132.0.34 (P-384)".into())))
        );
        // An Ed25519 SPKI (RFC 8410 example).
        let ed25519 = [
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0x19, 0xbf, 0x44, 0x09, 0x69, 0x84,
            0xcd, 0xfe, 0x85, 0x41, 0xba, 0xc1, 0x67, 0xdc, 0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6, 0xb6, 0xcb,
            0x0c, 0x5c, 0x38, 0xad, 0x70, 0x31, 0x66, 0xe1,
        ];
        assert_eq!(
            parse_spki(&ed25519),
            Err(Error::Key(KeyError::UnsupportedType("1.3.101.112 (Ed25519)".into())))
        );
    }

    #[test]
    fn refuses_every_truncation_and_trailing_bytes() {
        let (_, spki) = spki_of(KeyType::Rsa2048);
        for len in 0..spki.len() {
            assert!(parse_spki(&spki[..len]).is_err(), "{len}");
        }
        let mut longer = spki.clone();
        longer.push(0);
        assert!(parse_spki(&longer).is_err());
        let (_, spki) = spki_of(KeyType::EcP256);
        for len in 0..spki.len() {
            assert!(parse_spki(&spki[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn refuses_bad_lengths_and_integers() {
        assert!(expect(&[0x30, 0x80, 0, 0], tag::SEQUENCE).is_err()); // indefinite
        assert!(expect(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], tag::SEQUENCE).is_err()); // non-minimal
        assert!(expect(&[0x30, 0x85, 0, 0, 0, 0, 1, 0], tag::SEQUENCE).is_err()); // too many length bytes
        assert!(expect(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], tag::SEQUENCE).is_err()); // past the end
        assert_eq!(positive(&[0x00, 0x80]), Some(vec![0x80]));
        assert_eq!(positive(&[0x80]), None);
        assert_eq!(positive(&[0x00]), None);
        assert_eq!(positive(&[]), None);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(bit_len(&[0x80]), 8);
    }
}
