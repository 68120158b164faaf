//! Binary dialect: `seq: u32 | checksum: u16 | type: u16 | payload`, big-endian.

use super::{internet_checksum, Packet, PacketKind, WireError};

pub(super) const HEADER_LEN: usize = 8;
const TYPE_DATA: u16 = 0x5555;
const TYPE_ACK: u16 = 0xAAAA;
const TYPE_FIN: u16 = 0xFFFF;

pub(super) fn checksum_field(d: &[u8]) -> Option<u16> {
    match d {
        [_, _, _, _, c0, c1, t0, t1, ..] if u16::from_be_bytes([*t0, *t1]) == TYPE_DATA => {
            Some(u16::from_be_bytes([*c0, *c1]))
        }
        _ => None,
    }
}

pub(super) fn sequence_field(d: &[u8]) -> Option<u32> {
    let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

pub(super) fn parse(d: &[u8]) -> Result<Packet<'_>, WireError> {
    let Some((header, payload)) = d.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::Truncated { len: d.len(), min: HEADER_LEN });
    };
    let seq = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let field = u16::from_be_bytes([header[4], header[5]]);
    let ty = u16::from_be_bytes([header[6], header[7]]);
    match ty {
        TYPE_DATA => {
            if payload.is_empty() {
                return Err(WireError::EmptyPayload);
            }
            let computed = internet_checksum(payload);
            if computed != field {
                return Err(WireError::BadChecksum { seq, carried: field, computed });
            }
            Ok(Packet::Data { seq, payload })
        }
        TYPE_ACK => {
            control(PacketKind::Ack, payload, field)?;
            Ok(Packet::Ack { seq })
        }
        TYPE_FIN => {
            control(PacketKind::Fin, payload, field)?;
            if seq != 0 {
                return Err(WireError::BadControl {
                    kind: PacketKind::Fin,
                    what: format!("sequence field {seq} is not zero"),
                });
            }
            Ok(Packet::Fin { seq })
        }
        field => Err(WireError::UnknownType { field }),
    }
}

fn control(kind: PacketKind, rest: &[u8], field: u16) -> Result<(), WireError> {
    if !rest.is_empty() {
        return Err(WireError::BadControl { kind, what: format!("{} trailing bytes", rest.len()) });
    }
    if field != 0 {
        return Err(WireError::BadControl { kind, what: format!("checksum field {field:#06x} is not zero") });
    }
    Ok(())
}

pub(super) fn emit(p: &Packet<'_>, buf: &mut Vec<u8>) -> Result<(), WireError> {
    let (seq, field, ty, payload): (u32, u16, u16, &[u8]) = match *p {
        Packet::Data { payload: [], .. } => return Err(WireError::EmptyPayload),
        Packet::Data { seq, payload } => (seq, internet_checksum(payload), TYPE_DATA, payload),
        Packet::Ack { seq } => (seq, 0, TYPE_ACK, &[]),
        Packet::Fin { .. } => (0, 0, TYPE_FIN, &[]),
    };
    buf.reserve(HEADER_LEN + payload.len());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&field.to_be_bytes());
    buf.extend_from_slice(&ty.to_be_bytes());
    buf.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Dialect::Binary;
    use super::*;

    fn emit_vec(p: Packet<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        Binary.emit(&p, &mut v).expect("emit");
        v
    }

    #[test]
    fn data_bytes_by_hand() {
        // seq 1, payload "ABC": checksum 0x7BBD (see checksum tests).
        let v = emit_vec(Packet::Data { seq: 1, payload: b"ABC" });
        assert_eq!(v, [0, 0, 0, 1, 0x7B, 0xBD, 0x55, 0x55, b'A', b'B', b'C']);
        assert_eq!(Binary.parse(&v), Ok(Packet::Data { seq: 1, payload: b"ABC" }));
        assert_eq!(Binary.sequence_field(&v), Some(1));
        assert_eq!(Binary.checksum_field(&v), Some(0x7BBD));
        // Control datagrams carry no checksum; a truncated header has none to read.
        assert_eq!(Binary.checksum_field(&emit_vec(Packet::Ack { seq: 1 })), None);
        assert_eq!(Binary.checksum_field(&emit_vec(Packet::Fin { seq: 1 })), None);
        assert_eq!(Binary.checksum_field(&v[..7]), None);
    }

    #[test]
    fn ack_and_fin_bytes_by_hand() {
        let ack = emit_vec(Packet::Ack { seq: 0x0102_0304 });
        assert_eq!(ack, [1, 2, 3, 4, 0, 0, 0xAA, 0xAA]);
        assert_eq!(Binary.parse(&ack), Ok(Packet::Ack { seq: 0x0102_0304 }));
        let fin = emit_vec(Packet::Fin { seq: 0 });
        assert_eq!(fin, [0, 0, 0, 0, 0, 0, 0xFF, 0xFF]);
        assert_eq!(Binary.parse(&fin), Ok(Packet::Fin { seq: 0 }));
    }

    #[test]
    fn malformed_inputs_have_typed_errors() {
        assert_eq!(Binary.parse(&[0, 0, 0]), Err(WireError::Truncated { len: 3, min: 8 }));
        assert_eq!(Binary.sequence_field(&[0, 0, 0]), None);
        assert_eq!(
            Binary.parse(&[0, 0, 0, 0, 0, 0, 0x12, 0x34]),
            Err(WireError::UnknownType { field: 0x1234 })
        );
        assert_eq!(Binary.parse(&[0, 0, 0, 0, 0, 0, 0x55, 0x55]), Err(WireError::EmptyPayload));
        assert!(matches!(
            Binary.parse(&[0, 0, 0, 1, 0, 0, 0xAA, 0xAA, 9]),
            Err(WireError::BadControl { kind: PacketKind::Ack, .. })
        ));
        assert!(matches!(
            Binary.parse(&[0, 0, 0, 1, 0, 7, 0xAA, 0xAA]),
            Err(WireError::BadControl { kind: PacketKind::Ack, .. })
        ));
        assert!(matches!(
            Binary.parse(&[0, 0, 0, 5, 0, 0, 0xFF, 0xFF]),
            Err(WireError::BadControl { kind: PacketKind::Fin, .. })
        ));
        let mut bad = emit_vec(Packet::Data { seq: 9, payload: b"ABC" });
        bad[9] ^= 0x01;
        assert_eq!(
            Binary.parse(&bad),
            Err(WireError::BadChecksum { seq: 9, carried: 0x7BBD, computed: internet_checksum(b"ACC") })
        );
        let mut buf = Vec::new();
        assert_eq!(
            Binary.emit(&Packet::Data { seq: 0, payload: b"" }, &mut buf),
            Err(WireError::EmptyPayload)
        );
    }
}
