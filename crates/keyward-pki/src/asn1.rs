//! A minimal DER reader: just enough to tell formats apart and to read the few structures the
//! general-purpose ASN.1 crates do not cover. Every read is bounds-checked; nothing panics.

/// Universal tags used here.
pub(crate) mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
}

/// Why a DER structure could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DerError {
    /// The input ends before the structure does.
    Truncated,
    /// The bytes are not valid DER (BER indefinite lengths included).
    Invalid,
}

impl DerError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Truncated => "the data ends in the middle of a structure",
            Self::Invalid => "the data is not valid DER",
        }
    }
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// The whole element, header included.
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and what follows.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&tag, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(DerError::Invalid); // multi-byte tags never occur in the structures we read
    }
    let (&first, mut rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return Err(DerError::Invalid); // indefinite (BER) or absurd lengths
        }
        if rest.len() < count {
            return Err(DerError::Truncated);
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(DerError::Truncated);
    }
    let header_len = input.len() - rest.len();
    let (value, after) = rest.split_at(len);
    Ok((
        Tlv {
            tag,
            value,
            raw: &input[..header_len + len],
        },
        after,
    ))
}

/// Reads one element and insists on its tag.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (tlv, rest) = read(input)?;
    if tlv.tag == tag {
        Ok((tlv, rest))
    } else {
        Err(DerError::Invalid)
    }
}

/// Reads a non-negative INTEGER that fits in a `u64`.
pub(crate) fn read_u64(input: &[u8]) -> Result<(u64, &[u8]), DerError> {
    let (tlv, rest) = expect(input, tag::INTEGER)?;
    let digits = match tlv.value {
        [0, rest @ ..] => rest,
        [first, ..] if first & 0x80 != 0 => return Err(DerError::Invalid),
        other => other,
    };
    if digits.len() > 8 || tlv.value.is_empty() {
        return Err(DerError::Invalid);
    }
    Ok((digits.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)), rest))
}

/// Number of significant bits of an unsigned big-endian INTEGER value.
pub(crate) fn integer_bits(value: &[u8]) -> usize {
    let digits = match value.iter().position(|&b| b != 0) {
        Some(i) => &value[i..],
        None => return 0,
    };
    digits.len() * 8 - digits[0].leading_zeros() as usize
}

/// Renders an OBJECT IDENTIFIER's content bytes in dotted form, for messages.
pub(crate) fn oid_to_string(value: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for &b in value {
        acc = (acc << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
        if acc > u128::from(u64::MAX) {
            return "(malformed OID)".into();
        }
    }
    let Some(&first) = arcs.first() else {
        return "(empty OID)".into();
    };
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    out
}

/// Content bytes of the object identifiers this crate recognises.
pub(crate) mod oid {
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const SECP256R1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    pub const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    pub const PBE_SHA1_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
    pub const PBE_SHA1_2DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x04];
    pub const PBE_SHA1_RC2_128: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x05];
    pub const PBE_SHA1_RC2_40: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x06];
}

/// A well-known name for an algorithm OID in dotted form, for error messages.
pub(crate) fn oid_name(dotted: &str) -> Option<&'static str> {
    Some(match dotted {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" => "X25519",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS key",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        "1.2.156.10197.1.301" => "SM2",
        "1.2.840.113549.1.5.3" => "pbeWithMD5AndDES-CBC",
        "1.2.840.113549.1.5.10" => "pbeWithSHA1AndDES-CBC",
        "1.2.840.113549.1.5.12" => "PBKDF2 used outside PBES2",
        "1.2.840.113549.1.12.1.1" => "pbeWithSHAAnd128BitRC4",
        "1.2.840.113549.1.12.1.2" => "pbeWithSHAAnd40BitRC4",
        "1.2.392.200011.61.1.1.1.4" => "Camellia-256-CBC",
        "1.2.410.200046.1.1.12" => "ARIA-256-CBC",
        "1.2.156.10197.1.104.2" => "SM4-CBC",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (tlv, rest) = read(&[0x04, 0x02, 0xaa, 0xbb, 0xff]).unwrap();
        assert_eq!((tlv.tag, tlv.value, rest), (0x04, &[0xaa, 0xbb][..], &[0xff][..]));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7, 0x80));
        let (tlv, rest) = read(&long).unwrap();
        assert_eq!((tlv.value.len(), rest.len(), tlv.raw.len()), (0x80, 0, long.len()));
    }

    #[test]
    fn refuses_truncated_indefinite_and_multibyte() {
        assert_eq!(read(&[0x30, 0x05, 0x01]).unwrap_err(), DerError::Truncated);
        assert_eq!(read(&[0x30, 0x80, 0x00, 0x00]).unwrap_err(), DerError::Invalid);
        assert_eq!(read(&[0x1f, 0x01, 0x00]).unwrap_err(), DerError::Invalid);
        assert_eq!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]).unwrap_err(), DerError::Invalid);
        assert_eq!(read(&[]).unwrap_err(), DerError::Truncated);
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(read_u64(&[0x02, 0x02, 0x07, 0xd0]).unwrap().0, 2000);
        assert_eq!(read_u64(&[0x02, 0x01, 0x80]).unwrap_err(), DerError::Invalid);
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_bits(&[0x01]), 1);
        assert_eq!(oid_to_string(oid::RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
        assert_eq!(oid_to_string(oid::SECP384R1), "1.3.132.0.34");
        assert_eq!(oid_to_string(&[0x2b, 0x65, 0x70]), "1.3.101.112");
    }
}
