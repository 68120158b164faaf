//! The two dialects' 16-bit checksums.

/// RFC 1071 Internet checksum over `data`: ones' complement of the ones' complement sum of the
/// big-endian 16-bit words, an odd last byte padded with a zero low byte. Binary dialect.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u64 = 0;
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    !fold(sum)
}

/// The original Python scripts' checksum: ones' complement sum of LITTLE-endian 16-bit words,
/// an odd last byte paired with 0x20 (a space) as its high byte, then complemented. Text dialect.
pub fn text_checksum(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u64 = 0;
    for c in &mut chunks {
        sum += u64::from(u16::from_le_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) | (0x20 << 8);
    }
    !fold(sum)
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
