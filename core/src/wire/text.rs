//! Text dialect of the original Python scripts:
//! `{offset:032b}###{checksum:016b}###0101010101010101###{payload}` for DATA,
//! `{offset:032b}###0000000000000000###1010101010101010` for ACK; an empty DATA is the EOF.

use super::{text_checksum, Packet, PacketKind, WireError};

const SEP: &[u8; 3] = b"###";
const OFFSET_DIGITS: usize = 32;
const FIELD_DIGITS: usize = 16;
const TYPE_DATA: &[u8; 16] = b"0101010101010101";
const TYPE_ACK: &[u8; 16] = b"1010101010101010";
/// Offset, separator, checksum, separator, type.
pub(super) const ACK_LEN: usize = OFFSET_DIGITS + 3 + FIELD_DIGITS + 3 + FIELD_DIGITS;
/// An ACK's length plus the separator before the payload.
pub(super) const DATA_HEADER_LEN: usize = ACK_LEN + 3;

const CHECKSUM_AT: usize = OFFSET_DIGITS + 3;
const TYPE_AT: usize = CHECKSUM_AT + FIELD_DIGITS + 3;

fn digits(field: &[u8]) -> Option<u64> {
    field.iter().try_fold(0u64, |acc, &b| match b {
        b'0' => Some(acc << 1),
        b'1' => Some((acc << 1) | 1),
        _ => None,
    })
}

fn push_digits(buf: &mut Vec<u8>, value: u64, width: usize) {
    buf.extend((0..width).rev().map(|i| if (value >> i) & 1 == 1 { b'1' } else { b'0' }));
}

pub(super) fn checksum_field(d: &[u8]) -> Option<u16> {
    // A DATA's checksum field (an EOF's too: the checksum of no bytes); an ACK carries zeros.
    if d.get(TYPE_AT..TYPE_AT + FIELD_DIGITS)? != TYPE_DATA {
        return None;
    }
    u16::try_from(digits(d.get(CHECKSUM_AT..CHECKSUM_AT + FIELD_DIGITS)?)?).ok()
}

pub(super) fn sequence_field(d: &[u8]) -> Option<u32> {
    digits(d.get(..OFFSET_DIGITS)?).and_then(|v| u32::try_from(v).ok())
}

fn framing(what: &str) -> WireError {
    WireError::BadFraming(what.to_string())
}

pub(super) fn parse(d: &[u8]) -> Result<Packet<'_>, WireError> {
    if d.len() < ACK_LEN {
        return Err(WireError::Truncated { len: d.len(), min: ACK_LEN });
    }
    if &d[OFFSET_DIGITS..CHECKSUM_AT] != SEP || &d[CHECKSUM_AT + FIELD_DIGITS..TYPE_AT] != SEP {
        return Err(framing("missing `###` separator"));
    }
    let seq = sequence_field(d).ok_or_else(|| framing("offset field is not 32 binary digits"))?;
    let carried = digits(&d[CHECKSUM_AT..CHECKSUM_AT + FIELD_DIGITS])
        .ok_or_else(|| framing("checksum field is not 16 binary digits"))? as u16;
    let ty = &d[TYPE_AT..ACK_LEN];
    if ty == TYPE_ACK {
        if d.len() != ACK_LEN {
            return Err(WireError::BadControl {
                kind: PacketKind::Ack,
                what: format!("{} trailing bytes", d.len() - ACK_LEN),
            });
        }
        if carried != 0 {
            return Err(WireError::BadControl {
                kind: PacketKind::Ack,
                what: format!("checksum field {carried:#06x} is not zero"),
            });
        }
        return Ok(Packet::Ack { seq });
    }
    if ty != TYPE_DATA {
        let field = digits(ty).map_or(0xFFFF, |v| v as u16);
        return Err(WireError::UnknownType { field });
    }
    // Only the first three separators frame; the payload may itself contain `###`.
    match d.get(ACK_LEN..DATA_HEADER_LEN) {
        Some(s) if s == SEP => {}
        _ => return Err(framing("missing `###` before the payload")),
    }
    let payload = &d[DATA_HEADER_LEN..];
    let computed = text_checksum(payload);
    if computed != carried {
        return Err(WireError::BadChecksum { seq, carried, computed });
    }
    if payload.is_empty() {
        Ok(Packet::Fin { seq })
    } else {
        Ok(Packet::Data { seq, payload })
    }
}

pub(super) fn emit(p: &Packet<'_>, buf: &mut Vec<u8>) -> Result<(), WireError> {
    let (seq, payload, is_ack): (u32, &[u8], bool) = match *p {
        Packet::Data { payload: [], .. } => return Err(WireError::EmptyPayload),
        Packet::Data { seq, payload } => (seq, payload, false),
        Packet::Fin { seq } => (seq, &[], false),
        Packet::Ack { seq } => (seq, &[], true),
    };
    buf.reserve(DATA_HEADER_LEN + payload.len());
    push_digits(buf, u64::from(seq), OFFSET_DIGITS);
    buf.extend_from_slice(SEP);
    if is_ack {
        push_digits(buf, 0, FIELD_DIGITS);
        buf.extend_from_slice(SEP);
        buf.extend_from_slice(TYPE_ACK);
    } else {
        push_digits(buf, u64::from(text_checksum(payload)), FIELD_DIGITS);
        buf.extend_from_slice(SEP);
        buf.extend_from_slice(TYPE_DATA);
        buf.extend_from_slice(SEP);
        buf.extend_from_slice(payload);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Dialect::Text;
    use super::*;

    fn emit_vec(p: Packet<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        Text.emit(&p, &mut v).expect("emit");
        v
    }

    #[test]
    fn data_bytes_by_hand() {
        // offset 5, payload "ABC": text checksum 0x9D7B = 1001110101111011.
        let v = emit_vec(Packet::Data { seq: 5, payload: b"ABC" });
        let expect = b"00000000000000000000000000000101###1001110101111011###0101010101010101###ABC";
        assert_eq!(v, expect.to_vec());
        assert_eq!(Text.parse(&v), Ok(Packet::Data { seq: 5, payload: b"ABC" }));
        assert_eq!(Text.sequence_field(&v), Some(5));
        assert_eq!(Text.checksum_field(&v), Some(0x9D7B));
        // An ACK's zero field is no checksum; a header cut short has none to read.
        assert_eq!(Text.checksum_field(&emit_vec(Packet::Ack { seq: 5 })), None);
        assert_eq!(Text.checksum_field(&v[..40]), None);
    }

    #[test]
    fn ack_and_eof_bytes_by_hand() {
        let ack = emit_vec(Packet::Ack { seq: 1000 });
        assert_eq!(ack, b"00000000000000000000001111101000###0000000000000000###1010101010101010".to_vec());
        assert_eq!(Text.parse(&ack), Ok(Packet::Ack { seq: 1000 }));
        // EOF: empty DATA at the file's length; the checksum of nothing is 0xFFFF.
        let eof = emit_vec(Packet::Fin { seq: 1000 });
        assert_eq!(
            eof,
            b"00000000000000000000001111101000###1111111111111111###0101010101010101###".to_vec()
        );
        assert_eq!(Text.parse(&eof), Ok(Packet::Fin { seq: 1000 }));
    }

    #[test]
    fn payload_may_contain_separators() {
        let v = emit_vec(Packet::Data { seq: 0, payload: b"a###b###" });
        assert_eq!(Text.parse(&v), Ok(Packet::Data { seq: 0, payload: b"a###b###" }));
    }

    #[test]
    fn malformed_inputs_have_typed_errors() {
        assert!(matches!(Text.parse(b"0101"), Err(WireError::Truncated { len: 4, min: 70 })));
        let good = emit_vec(Packet::Data { seq: 5, payload: b"ABC" });
        let mut sep = good.clone();
        sep[33] = b'#' + 1;
        assert!(matches!(Text.parse(&sep), Err(WireError::BadFraming(_))));
        let mut digit = good.clone();
        digit[3] = b'2';
        assert!(matches!(Text.parse(&digit), Err(WireError::BadFraming(_))));
        assert_eq!(Text.sequence_field(&digit), None);
        let mut ty = good.clone();
        ty[54] = b'1';
        assert!(matches!(Text.parse(&ty), Err(WireError::UnknownType { .. })));
        let mut payload = good.clone();
        payload[74] = b'b';
        assert!(matches!(Text.parse(&payload), Err(WireError::BadChecksum { seq: 5, carried: 0x9D7B, .. })));
        let mut no_sep = good[..72].to_vec();
        no_sep.push(b'x');
        assert!(matches!(Text.parse(&no_sep), Err(WireError::BadFraming(_))));
        let mut long_ack = emit_vec(Packet::Ack { seq: 1 });
        long_ack.push(b'0');
        assert!(matches!(Text.parse(&long_ack), Err(WireError::BadControl { kind: PacketKind::Ack, .. })));
    }
}
