//! The two dialects' 16-bit checksums.

/// RFC 1071 Internet checksum over `data`: ones' complement of the ones' complement sum of the
/// big-endian 16-bit words, an odd last byte padded with a zero low byte. Binary dialect.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let (even, last) = split_odd(data);
    // Byte-order independence (RFC 1071, 2.B): the sum of the little-endian words, byte-swapped,
    // is the sum of the big-endian ones. A lone last byte is the high byte of its big-endian
    // word, so the low byte of its little-endian one.
    let sum = sum_le_words(even) + last.map_or(0, u64::from);
    !fold(sum).swap_bytes()
}

/// The original Python scripts' checksum: ones' complement sum of LITTLE-endian 16-bit words,
/// an odd last byte paired with 0x20 (a space) as its high byte, then complemented. Text dialect.
pub fn text_checksum(data: &[u8]) -> u16 {
    let (even, last) = split_odd(data);
    let sum = sum_le_words(even) + last.map_or(0, |b| u64::from(b) | (0x20 << 8));
    !fold(sum)
}

/// `data` without its odd last byte, and that byte.
fn split_odd(data: &[u8]) -> (&[u8], Option<u8>) {
    match data.len() % 2 {
        0 => (data, None),
        _ => data.split_last().map_or((data, None), |(&b, rest)| (rest, Some(b))),
    }
}

/// A number congruent, modulo 0xFFFF, to the sum of the little-endian 16-bit words of `data`
/// (even length), zero only if they all are, and below 2^34. Eight bytes at a time: each u64
/// adds as two u32 halves (two words each, in base 2^16, which is 1 modulo 0xFFFF), and the
/// compiler vectorises the loop; a checksum per segment is on every DATA's path twice.
fn sum_le_words(data: &[u8]) -> u64 {
    let mut total: u64 = 0;
    // A block adds at most 2^17 halves below 2^32: no overflow, whatever the length.
    for block in data.chunks(1 << 20) {
        let mut words = block.chunks_exact(8);
        let mut sum: u64 = 0;
        for w in &mut words {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            sum += (w & 0xFFFF_FFFF) + (w >> 32);
        }
        for w in words.remainder().chunks_exact(2) {
            sum += u64::from(u16::from_le_bytes([w[0], w[1]]));
        }
        total = fold32(total) + fold32(sum);
    }
    total
}

/// Folds a sum to below 2^33 keeping it modulo 0xFFFF and non-zero if it was.
fn fold32(sum: u64) -> u64 {
    (sum & 0xFFFF_FFFF) + (sum >> 32)
}

/// Folds carries back in until the sum fits in 16 bits (end-around carry).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_checksum_vectors() {
        // Empty: sum 0, complement 0xFFFF.
        assert_eq!(internet_checksum(b""), 0xFFFF);
        // "A" = 0x41, odd: word 0x4100 -> !0x4100 = 0xBEFF.
        assert_eq!(internet_checksum(b"A"), 0xBEFF);
        // "AB" = 0x4142 -> 0xBEBD.
        assert_eq!(internet_checksum(b"AB"), 0xBEBD);
        // "ABC": 0x4142 + 0x4300 = 0x8442 -> 0x7BBD.
        assert_eq!(internet_checksum(b"ABC"), 0x7BBD);
        // RFC 1071 section 3 example: words 0001 f203 f4f5 f6f7 sum (with carries) 0xddf2.
        let rfc = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&rfc), !0xddf2);
        // End-around carry: 0xFFFF + 0x0001 = 0x1_0000 -> 0x0001 -> !0x0001 = 0xFFFE.
        assert_eq!(internet_checksum(&[0xFF, 0xFF, 0x00, 0x01]), 0xFFFE);
        // Odd length with carry: 0xFFFF + 0xFF00 = 0x1FEFF -> 0xFF00 -> 0x00FF.
        assert_eq!(internet_checksum(&[0xFF, 0xFF, 0xFF]), 0x00FF);
    }

    #[test]
    fn text_checksum_vectors() {
        assert_eq!(text_checksum(b""), 0xFFFF);
        // "A" odd: 0x41 + 0x2000 = 0x2041 -> 0xDFBE.
        assert_eq!(text_checksum(b"A"), 0xDFBE);
        // "AB" little-endian: 0x41 + (0x42 << 8) = 0x4241 -> 0xBDBE.
        assert_eq!(text_checksum(b"AB"), 0xBDBE);
        // "ABC": 0x4241 + 0x2043 = 0x6284 -> 0x9D7B.
        assert_eq!(text_checksum(b"ABC"), 0x9D7B);
        // Carry: 0xFFFF + 0x2001 = 0x12000 -> 0x2001 -> 0xDFFE.
        assert_eq!(text_checksum(&[0xFF, 0xFF, 0x01]), 0xDFFE);
    }

    /// The definitions, a word at a time, as the dialects' documents state them.
    fn reference(data: &[u8], big_endian: bool, pad: u8) -> u16 {
        let mut sum: u32 = 0;
        for pair in data.chunks(2) {
            let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(pad));
            let word = if big_endian { u16::from_be_bytes([a, b]) } else { u16::from_le_bytes([a, b]) };
            sum += u32::from(word);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn the_wide_sums_agree_with_the_word_by_word_definitions() {
        let mut rng = crate::rng::Rng::new(7);
        for len in (0..300).chain([499, 500, 501, 1400, 65_507]) {
            for fill in 0..4 {
                let data: Vec<u8> = (0..len)
                    .map(|_| match fill {
                        0 => rng.below(256) as u8,
                        1 => 0xFF, // every word all ones: carries everywhere
                        2 => 0,
                        _ => [0xFF, 0x00, 0x80][rng.below(3) as usize],
                    })
                    .collect();
                assert_eq!(
                    internet_checksum(&data),
                    reference(&data, true, 0),
                    "binary, len {len}, fill {fill}"
                );
                assert_eq!(
                    text_checksum(&data),
                    reference(&data, false, 0x20),
                    "text, len {len}, fill {fill}"
                );
            }
        }
    }

    #[test]
    fn checksum_of_data_with_its_checksum_folds_to_zero() {
        // The property receivers rely on: appending the checksum makes the sum all ones.
        let data = b"hello, point-to-multipoint";
        let c = internet_checksum(data);
        let mut with = data.to_vec();
        with.extend_from_slice(&c.to_be_bytes());
        assert_eq!(internet_checksum(&with), 0);
    }
}
